"""The paper's fine-tuning baseline (section 11.3 (2)): train at 2x2, fine-tune at 4x4.

A <4,4,4> model with 49 slots is trained on 4x4 pairs from two starts, then crystallized by the
same anneal as at 2x2 (bilinear.learn.methods.anneal: gradient steps, the paper's Q, the exact
verifier): (a) the Kronecker square of the learned 2x2 scheme (bilinear.algebra.product), exact
before any training, perturbed by N(0, perturbation^2) noise; (b) a random start.  Zero-shot
expansion, the square itself, is exact by construction.

Equivalence to Strassen squared: a result whose canonical form is that of the start's square is
the square of a scheme equivalent to Strassen's (when the learned one is), so it is equivalent;
otherwise equal fingerprints (bilinear.algebra.fingerprint) are recorded, a necessary condition.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bilinear.algebra.fingerprint import fingerprint
from bilinear.algebra.product import product
from bilinear.algebra.schemes import Scheme, canonical, strassen, verify
from bilinear.learn.data import make_datasets
from bilinear.learn.methods.anneal import Schedule, anneal_crystals
from bilinear.learn.training import Recipe, init_runs, train_runs
from bilinear.search.executor import run_tasks
from bilinear.seeds import derived_seed


def square(scheme: Scheme) -> Scheme:
    """The Kronecker square of a scheme: one level of it over blocks it multiplies."""
    return product(scheme, scheme)


def arrays(scheme: Scheme) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 U, V, W of a scheme."""
    return tuple(np.asarray(x, dtype=np.float64) for x in (scheme.U, scheme.V, scheme.W))


def kronecker_start(scheme: Scheme, seeds: Sequence[int],
                    perturbation: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """U, V, W (R, ...) of the square of `scheme` plus N(0, perturbation^2) noise per entry,
    drawn from each run seed's init stream (perturbation 0: the exact square)."""
    U, V, W = (torch.from_numpy(x) for x in arrays(square(scheme)))
    out = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(derived_seed(seed, "init"))
        out.append([x + perturbation * torch.randn(x.shape, generator=gen, dtype=torch.float64)
                    for x in (U, V, W)])
    return tuple(torch.stack(p) for p in zip(*out, strict=True))


@dataclass(frozen=True)
class FineTune:
    """The 4x4 training and its anneal: pairs, recipe, the anneal's lr and schedule."""

    n_train: int
    n_test: int
    recipe: Recipe
    anneal_lr: float
    schedule: Schedule


def run_start(U, V, W, seeds: Sequence[int], data_seed: int, setup: FineTune,
              learned: Scheme) -> dict:
    """Train the runs of one start at <4,4,4>, anneal, verify: per-run records and seconds."""
    start = time.perf_counter()
    train, test = make_datasets((4, 4, 4), setup.n_train, setup.n_test, data_seed)
    result = train_runs(U, V, W, train, test, setup.recipe, list(seeds))
    recipe = Recipe(batch_size=setup.recipe.batch_size, lr=setup.anneal_lr,
                    weight_decay=setup.recipe.weight_decay)
    crystals, _ = anneal_crystals(result.U, result.V, result.W, train, recipe, setup.schedule,
                                  list(seeds))
    seconds = time.perf_counter() - start
    start_form = canonical(square(learned))
    target = fingerprint(square(strassen()))
    runs = []
    for r, c in enumerate(crystals):
        same = bool(c.exact) and all(np.array_equal(a, b) for a, b in zip(
            arrays(canonical(c.scheme)), arrays(start_form), strict=True))
        runs.append({"exact": bool(c.exact), "trained_loss": float(result.train_loss[-1, r]),
                     "returns_to_start": same, "fingerprint_matches":
                     bool(c.exact) and fingerprint(c.scheme) == target,
                     "nonzeros": int(c.scheme.nonzeros())})
    return {"runs": runs, "seconds": seconds}


def run_starts(starts: dict, seeds: Sequence[int], data_seed: int, setup: FineTune,
               learned: Scheme, workers: int = 2) -> dict:
    """name -> run_start of each start ((U, V, W) by name), the starts side by side on
    `workers` local processes of one torch thread each (bilinear.search.executor): the same
    records as one after the other."""
    names = list(starts)
    results = run_tasks(_run_start_task, [(starts[n], seeds, data_seed, setup, learned)
                                          for n in names], workers, label="finetune starts")
    return dict(zip(names, results, strict=True))


def _run_start_task(task: tuple) -> dict:
    (U, V, W), seeds, data_seed, setup, learned = task
    torch.set_num_threads(1)
    return run_start(U, V, W, seeds, data_seed, setup, learned)


def random_start(seeds: Sequence[int], init: str, scale: float):
    """U, V, W of 49-slot <4,4,4> models from each seed's init stream."""
    return init_runs((4, 4, 4), 49, seeds, init, scale)


def zero_shot(learned: Scheme) -> dict:
    """The square itself: exact check, fingerprint match with Strassen squared, seconds."""
    start = time.perf_counter()
    sq = square(learned)
    exact = verify(sq)
    return {"exact": bool(exact), "seconds": time.perf_counter() - start,
            "fingerprint_matches": fingerprint(sq) == fingerprint(square(strassen())),
            "rank": sq.rank}
