"""The 3x3 frontier: the paper's recipe at a format it reports as failing, crystallized by every
method, with yields, exact schemes found and wall time per exact scheme.

The paper trained <3,3,3> with 27 slots and reports that it "did not converge ... effective rank
remained at 27".  Here every seed trains 27 slots on the same pairs (all seeds as one batched
program), is pruned to the kept slots and crystallized by each method within a time budget; the
effective rank (slots whose importance is at least a fraction of the largest) is recorded too.

`anneal` (gradient steps only, bilinear.learn.methods.anneal) gets up to `attempts` tries per
seed, all on the seed's training pairs with the recipe's batch size and weight decay: the first
from the trained, pruned model, every later one (only for seeds not yet exact) from a fresh
untrained initialisation of the kept slots.  The first attempts and the later ones are summarised
apart, so the untrained starts are the control of what the trained start brings.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from bilinear.algebra.fingerprint import fingerprint
from bilinear.intervals import wilson
from bilinear.learn.crystal import Crystal
from bilinear.learn.data import make_datasets
from bilinear.learn.methods import discretize
from bilinear.learn.methods.anneal import Schedule, anneal_crystals
from bilinear.learn.prune import prune, slot_importance
from bilinear.learn.training import Recipe, dataset_mse, init_runs, train_runs
from bilinear.seeds import attempt_seed


@dataclass(frozen=True)
class FrontierSetup:
    """What one frontier study trains and how it crystallizes."""

    fmt: tuple[int, int, int]
    slots: int
    pruned_slots: int
    recipe: Recipe
    n_train: int
    n_test: int
    methods: tuple[str, ...]
    budget: float
    tol: float
    rank_threshold: float
    anneal: Schedule = Schedule()  # the anneal's phases (method anneal)
    anneal_lr: float = 0.01         # its AdamW learning rate
    attempts: int = 1               # anneal tries per seed (later ones from untrained starts)


def effective_rank(importance: np.ndarray, threshold: float) -> int:
    """Slots whose importance is at least `threshold` times the largest one's."""
    importance = np.asarray(importance, dtype=np.float64)
    top = importance.max() if importance.size else 0.0
    return int(np.sum(importance >= threshold * top)) if top > 0 else 0


def run_frontier(setup: FrontierSetup, seeds: list[int], data_seed: int,
                 progress: bool = False) -> list[dict]:
    """Train every seed, prune, crystallize by every method; one record per (seed, method)."""
    train, test = make_datasets(setup.fmt, setup.n_train, setup.n_test, data_seed)
    result = train_runs(*init_runs(setup.fmt, setup.slots, seeds), train, test, setup.recipe,
                        seeds, progress=progress)
    importance = slot_importance(result.U, result.V, result.W).numpy()
    Up, Vp, Wp, _ = prune(result.U, result.V, result.W, setup.pruned_slots)
    pruned_loss = dataset_mse(Up, Vp, Wp, train)
    crystals = {}
    for method in (m for m in setup.methods if m != "anneal"):
        for r in tqdm(range(len(seeds)), desc=f"frontier: {method}", disable=not progress):
            c = discretize(setup.fmt, Up[r].numpy(), Vp[r].numpy(), Wp[r].numpy(), method,
                           setup.tol, setup.budget, progress=progress)
            crystals[r, method] = (c, float(c.seconds), None)
    if "anneal" in setup.methods:
        crystals.update(_anneal_attempts(setup, Up, Vp, Wp, train, seeds, progress))
    records = []
    for r in range(len(seeds)):
        for method in setup.methods:
            c, seconds, attempt = crystals[r, method]
            records.append({
                "seed": seeds[r], "method": method, "exact": bool(c.exact),
                "seconds": seconds, "verdict": c.verdict, "margin": float(c.margin),
                "nonzeros": int(c.scheme.nonzeros()) if c.exact else None,
                "fingerprint": fingerprint(c.scheme) if c.exact else None,
                "rank": int(c.scheme.rank), "attempt": attempt,
                "train_loss": float(result.train_loss[-1, r]),
                "pruned_train_loss": float(pruned_loss[r]),
                "effective_rank": effective_rank(importance[r], setup.rank_threshold),
            })
    return records


def _anneal_attempts(setup: FrontierSetup, Up, Vp, Wp, train: dict, seeds: list[int],
                     progress: bool) -> dict:
    """{(run, "anneal"): (crystal, seconds, attempt)}: each attempt anneals every run not yet
    exact at once; `attempt` is the 0-based attempt that gave the recorded crystal (the last
    one tried when none was exact) and `seconds` the run's share of all its attempts."""
    recipe = replace(setup.recipe, lr=setup.anneal_lr)
    last: dict[int, tuple[Crystal, int]] = {}
    seconds = np.zeros(len(seeds))
    todo = list(range(len(seeds)))
    for attempt in tqdm(range(setup.attempts), desc="frontier: anneal attempts",
                        disable=not progress):
        if not todo:
            break
        if attempt == 0:
            starts, streams = (Up[todo], Vp[todo], Wp[todo]), [seeds[r] for r in todo]
        else:
            streams = [attempt_seed(seeds[r], attempt) for r in todo]
            starts = init_runs(setup.fmt, setup.pruned_slots, streams)
        start = time.perf_counter()
        found, _ = anneal_crystals(*(t.clone() for t in starts), train, recipe, setup.anneal,
                                   streams)
        seconds[todo] += (time.perf_counter() - start) / len(todo)
        last.update({r: (c, attempt) for r, c in zip(todo, found, strict=True)})
        todo = [r for r in todo if not last[r][0].exact]
    return {(r, "anneal"): (c, float(seconds[r]), a) for r, (c, a) in last.items()}


def _attempt_yields(rows: list[dict]) -> dict:
    """Anneal's yield per attempt: first attempts (trained starts) and later attempts (untrained
    starts, made only for runs whose earlier attempts failed), each with its Wilson interval."""
    later = sum(r["attempt"] for r in rows)  # a run ending at attempt a made a later attempts
    return {"first_attempt_trained_start": wilson(sum(r["exact"] and r["attempt"] == 0
                                                      for r in rows), len(rows)),
            "later_attempts_untrained_start": wilson(sum(r["exact"] and r["attempt"] > 0
                                                         for r in rows), later),
            "attempts_total": len(rows) + later}


def summarize_frontier(records: list[dict], methods: tuple[str, ...]) -> dict:
    """Per method: yield with its Wilson interval, exact schemes found (and their distinct
    fingerprints: bilinear.algebra.fingerprint), seconds per exact scheme;
    plus the trained models' effective ranks and losses (one value per seed)."""
    per_seed = {r["seed"]: r for r in records}.values()
    summary = {
        "runs": len(per_seed),
        "effective_rank": sorted(r["effective_rank"] for r in per_seed),
        "median_train_loss": float(np.median([r["train_loss"] for r in per_seed])),
        "median_pruned_train_loss": float(np.median([r["pruned_train_loss"]
                                                     for r in per_seed])),
        "methods": {},
    }
    exact_any = set()
    for method in methods:
        rows = [r for r in records if r["method"] == method]
        exact = [r for r in rows if r["exact"]]
        exact_any |= {r["seed"] for r in exact}
        seconds = float(sum(r["seconds"] for r in rows))
        verdicts: dict[str, int] = {}
        for r in rows:
            key = re.sub(r"\d[\d.e+-]*", "#", r["verdict"])  # verdicts grouped by kind
            verdicts[key] = verdicts.get(key, 0) + 1
        summary["methods"][method] = {
            "yield": wilson(len(exact), len(rows)),
            "exact_schemes": len(exact),
            "seconds_total": seconds,
            "seconds_per_run": seconds / len(rows) if rows else None,
            "seconds_per_exact_scheme": seconds / len(exact) if exact else None,
            "median_nonzeros_exact": (float(np.median([r["nonzeros"] for r in exact]))
                                      if exact else None),
            "distinct_fingerprints": len({r.get("fingerprint") for r in exact}),
            "verdicts": verdicts,
        }
        if method == "anneal":
            summary["methods"][method]["attempts"] = _attempt_yields(rows)
    summary["exact_by_any_method"] = wilson(len(exact_any), summary["runs"])
    return summary
