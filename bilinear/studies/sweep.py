"""The batch-size study (paper section 7): design, batched training and crystallization rows.

Design. A protocol (A, B) has batch sizes (in params, each batch size lists its protocols), a
number of seeds and a number of replicas; its runs are every (batch size, seed, replica). A run's
*seed* fixes its training and test pairs and its initial weights; its *replica* fixes only the
order of its mini-batches. Within a protocol, seed s is the same at every batch size, so batch
sizes are compared from the same data and initial weights; the protocols draw from disjoint seed
streams (derived from the master seed and the protocol's name), so their runs are disjoint.

Training.  All runs of one batch size are trained at once (bilinear.learn.training.train_runs: one
set of arrays, independent AdamW state, bit-identical to training each alone).  During training
the weights are kept at the evaluation epochs, and the gradient-noise statistics (studies.kappa)
of the trained (unpruned) model are taken at fixed percentages of training and at its end, on each
run's first `kappa_samples` training pairs.

Rows.  At every evaluation epoch each run is pruned to `pruned_slots` slots and crystallized by
``round`` and ``sparsify``; the unpruned model is also rounded (``phase1_round``: the paper's
Phase 1 alone); at the final epoch it is also annealed (``anneal``, ``anneal_equal_steps``:
studies.anneal_study), its rows' weights being the annealed ones, rounded and verified here.
Every crystallization is a row of :data:`COLUMNS` (the study's CSV contract plus
``expansion_error``, the float32 expansion error behind ``expansion_success``); ``seed`` and
``replica`` are indices within the protocol, ``run_id`` is <protocol>-B<batch>-s<seed>-r<replica>.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from bilinear.algebra.equivalence import equivalent_to_strassen
from bilinear.algebra.expand import EXPANSION_TOL, PAPER_SIZES, relative_errors
from bilinear.algebra.schemes import Scheme
from bilinear.learn.data import make_datasets
from bilinear.learn.methods import SOLVED, discretize
from bilinear.learn.methods.anneal import crystal_of
from bilinear.learn.prune import prune
from bilinear.learn.training import (
    Layout,
    Recipe,
    format_of,
    grokking_epoch,
    init_runs,
    train_runs,
    unpack,
)
from bilinear.search.executor import run_tasks
from bilinear.search.resume import Partial, run_resumable
from bilinear.seeds import SWEEP_TAG, study_seed
from bilinear.studies.kappa import gradient_noise

METHODS = (*SOLVED, "phase1_round")  # the last: unpruned model, rounded (Phase 1 only)
ANNEALED = ("anneal", "anneal_equal_steps")  # rows of studies.anneal_study: already annealed
BASE_COLUMNS = ["protocol", "batch_size", "seed", "replica", "run_id", "method", "epoch", "final",
                "train_loss", "test_loss", "grokking_epoch", "margin", "exact",
                "expansion_success", "nonzeros", "equivalent_to_strassen"]
SOLVER_FAILED = {"margin": None, "exact": False, "expansion_success": False, "nonzeros": None,
                 "equivalent_to_strassen": False, "expansion_error": None}  # no scheme: a failure


@dataclass(frozen=True)
class Run:
    """One training run of the study."""

    protocol: str
    batch_size: int
    seed: int
    replica: int
    data_seed: int  # training/test pairs and initial weights
    shuffle_seed: int  # mini-batch order

    @property
    def run_id(self) -> str:
        """Unique name, e.g. A-B32-s0-r1."""
        return f"{self.protocol}-B{self.batch_size}-s{self.seed}-r{self.replica}"


def design(protocols: dict, master: int) -> list[Run]:
    """Every run of every protocol, ordered by protocol name, batch size, seed, replica."""
    runs = []
    for name in sorted(protocols):
        spec = protocols[name]
        for batch in sorted(spec["batch_sizes"]):
            for s in range(spec["seeds"]):
                for r in range(spec["replicas"]):
                    runs.append(Run(name, batch, s, r, study_seed(master, name, s),
                                    study_seed(master, name, s, 1 + r)))
    return runs


def evaluation_epochs(eval_epochs: Sequence[int], epochs: int) -> list[int]:
    """Sorted evaluation epochs, always including the last epoch."""
    if any(not 1 <= e <= epochs for e in eval_epochs):
        raise ValueError(f"evaluation epochs {list(eval_epochs)} must lie in [1, {epochs}]")
    return sorted(set(eval_epochs) | {epochs})


def columns(percents: Sequence[int] = (5, 10, 25)) -> list[str]:
    """The CSV columns; kappa_<p>, trace_<p> per percentage of training (default: the contract)."""
    kappa = [f"{k}_{p}" for p in [*percents, "final"] for k in ("kappa", "trace")]
    return [*BASE_COLUMNS, *kappa, "degenerate_final", "expansion_error"]


COLUMNS = columns()


def kappa_epochs(percents: Sequence[int], epochs: int) -> dict[str, int]:
    """{column suffix: epoch}: each percentage of training (at least epoch 1), and 'final'."""
    out = {str(p): max(1, round(p * epochs / 100)) for p in percents}
    out["final"] = epochs
    return out


@dataclass
class Trained:
    """The record of one batch of runs: weights at evaluation epochs, losses, kappa statistics."""

    runs: list[Run]
    snapshots: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
    train_loss: np.ndarray  # (epochs, R)
    test_loss: np.ndarray
    kappa: dict[str, dict[str, np.ndarray]]


def _stack(sets: list[dict]) -> dict:
    return {k: np.stack([s[k] for s in sets]) for k in "abc"}


@dataclass
class BatchInputs:
    """What training one batch of runs starts from: initial weights, per-run data, recipe."""

    U: torch.Tensor
    V: torch.Tensor
    W: torch.Tensor
    train_set: dict
    test_set: dict
    recipe: Recipe
    shuffle_seeds: list[int]


def batch_inputs(runs: list[Run], cfg: dict) -> BatchInputs:
    """Initial weights and training/test pairs of every run (all of one batch size), each from
    its seed, and the study's recipe at that batch size (params `sweep`)."""
    fmt, batch = tuple(cfg["format"]), runs[0].batch_size
    if any(r.batch_size != batch for r in runs):
        raise ValueError("a batch of runs needs one batch size")
    data = {s: make_datasets(fmt, cfg["n_train"], cfg["n_test"], s, cfg["data_scale"])
            for s in sorted({r.data_seed for r in runs})}
    U, V, W = init_runs(fmt, cfg["slots"], [r.data_seed for r in runs], cfg["init"],
                        cfg["init_scale"])
    recipe = Recipe(epochs=cfg["epochs"], batch_size=batch, lr=cfg["lr"],
                    weight_decay=cfg["weight_decay"])
    return BatchInputs(U, V, W, _stack([data[r.data_seed][0] for r in runs]),
                       _stack([data[r.data_seed][1] for r in runs]), recipe,
                       [r.shuffle_seed for r in runs])


def train_batch(runs: list[Run], cfg: dict, progress: bool = False) -> Trained:
    """Train every run (all of one batch size) at once with the study's recipe (params `sweep`)."""
    inputs = batch_inputs(runs, cfg)
    evals = set(evaluation_epochs(cfg["eval_epochs"], cfg["epochs"]))
    at_kappa: dict[int, list[str]] = {}
    for key, e in kappa_epochs(cfg["kappa_percents"], cfg["epochs"]).items():
        at_kappa.setdefault(e, []).append(key)
    samples = [torch.from_numpy(inputs.train_set[k][:, :cfg["kappa_samples"]]) for k in "abc"]
    layout = Layout(tuple(cfg["format"]), cfg["slots"])
    snapshots, kappa = {}, {}

    def record(epoch: int, theta: torch.Tensor) -> None:
        if epoch not in evals and epoch not in at_kappa:
            return
        weights = tuple(t.clone() for t in unpack(theta, layout))
        if epoch in evals:
            snapshots[epoch] = tuple(t.numpy() for t in weights)
        if epoch in at_kappa:
            stats = gradient_noise(*weights, *samples)
            for key in at_kappa[epoch]:
                kappa[key] = {k: stats[k].numpy() for k in ("kappa", "trace_over_d", "degenerate")}

    result = train_runs(inputs.U, inputs.V, inputs.W, inputs.train_set, inputs.test_set,
                        inputs.recipe, inputs.shuffle_seeds, callback=record, progress=progress)
    return Trained(runs, snapshots, result.train_loss, result.test_loss, kappa)


def crystallization_tasks(trained: Trained, cfg: dict) -> list[tuple]:
    """(run index, epoch, method, U, V, W) for every row, in row order (run, epoch, METHODS)."""
    pruned = {e: prune(*(torch.from_numpy(x) for x in snap), cfg["pruned_slots"])[:3]
              for e, snap in trained.snapshots.items()}
    tasks = []
    for i in range(len(trained.runs)):
        for e in sorted(trained.snapshots):
            weights = {**{m: [t[i].numpy() for t in pruned[e]] for m in SOLVED},
                       "phase1_round": [t[i] for t in trained.snapshots[e]]}
            tasks.extend((i, e, m, *weights[m]) for m in METHODS)
    return tasks


def expansion_error(scheme: Scheme) -> float:
    """Largest relative error of the scheme's recursive expansion (down to scalars, float32) over
    the paper's sizes 2..64, on fixed Gaussian matrices; cached per scheme (it depends on nothing
    else).  The paper's Definition 4.2 (bilinear.algebra.expand.expansion_success): error <
    EXPANSION_TOL."""
    key = repr([t.tolist() for t in (scheme.U, scheme.V, scheme.W)])
    if key not in _EXPANSION_CACHE:
        rng = np.random.default_rng(SWEEP_TAG)
        errors = relative_errors(scheme, PAPER_SIZES, rng, cutoff=1, dtype=np.float32)
        _EXPANSION_CACHE[key] = max(errors.values())
    return _EXPANSION_CACHE[key]


_EXPANSION_CACHE: dict[str, float] = {}


def crystallize_one(task: tuple, tol: float) -> dict:
    """Discretize one run's weights with one method and judge the result (one row's outcome)."""
    _, _, method, U, V, W = task
    fmt = format_of(U.shape[1], V.shape[1], W.shape[0])
    try:
        crystal = (crystal_of(fmt, U, V, W) if method in ANNEALED else
                   discretize(fmt, U, V, W, "round" if method == "phase1_round" else method, tol))
    except np.linalg.LinAlgError:  # sparsify's least squares can meet non-finite iterates
        return dict(SOLVER_FAILED)
    scheme = crystal.scheme
    error = expansion_error(scheme) if crystal.exact else None
    return {"margin": crystal.margin, "exact": crystal.exact,
            "expansion_success": error is not None and error < EXPANSION_TOL,
            "nonzeros": scheme.nonzeros(), "equivalent_to_strassen": equivalent_to_strassen(scheme),
            "expansion_error": error}


def crystallize_job(job: tuple) -> dict:
    """crystallize_one of a (task, tol) job on one thread: one executor task."""
    torch.set_num_threads(1)
    with threadpool_limits(1):
        return crystallize_one(*job)


def check_outcome(outcome) -> dict:
    """A crystallization outcome read back from a partial-results file, checked to have
    crystallize_one's keys and value types (ValueError otherwise)."""
    types = {"margin": (float, type(None)), "exact": bool, "expansion_success": bool,
             "nonzeros": (int, type(None)), "equivalent_to_strassen": bool,
             "expansion_error": (float, type(None))}
    if not isinstance(outcome, dict) or set(outcome) != set(types) or any(
            not isinstance(outcome[k], t) or (t is not bool and isinstance(outcome[k], bool))
            for k, t in types.items()):
        raise ValueError(f"not a crystallization outcome: {str(outcome)[:60]}")
    return outcome


def crystallize_all(tasks: list[tuple], tol: float, workers: int, progress: bool = False,
                    scheduler: str | None = None, partial: Partial | None = None) -> list[dict]:
    """crystallize_one of every task, in task order, through the executor (local processes, or
    the Dask cluster at `scheduler`); with `partial`, each outcome is kept there as it finishes
    and the outcomes it already holds are not computed again (search.resume)."""
    jobs, options = [(t, tol) for t in tasks], {"workers": workers, "scheduler": scheduler,
                                                "label": "crystallize", "progress": progress}
    if partial is None:
        return run_tasks(crystallize_job, jobs, **options)
    ids = [[int(i), int(e), method] for i, e, method, *_ in tasks]
    return run_resumable(crystallize_job, jobs, ids, partial, check_outcome, **options)


def _cell(x) -> str:
    """CSV text of a value: '' for None and NaN, True/False, shortest round-trip floats."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return str(int(x))
    x = float(x)
    return "" if np.isnan(x) else repr(x)


def rows(trained: Trained, tasks: list[tuple], outcomes: list[dict], cfg: dict) -> list[dict]:
    """One CSV row (strings keyed by :func:`columns`) per crystallization task and its outcome."""
    epochs, tr, te = cfg["epochs"], trained.train_loss, trained.test_loss
    names = columns([int(k) for k in trained.kappa if k != "final"])
    out = []
    for (i, e, method, *_), outcome in zip(tasks, outcomes, strict=True):
        run = trained.runs[i]
        row = {"protocol": run.protocol, "batch_size": run.batch_size, "seed": run.seed,
               "replica": run.replica, "run_id": run.run_id, "method": method, "epoch": e,
               "final": e == epochs, "train_loss": tr[e - 1, i], "test_loss": te[e - 1, i],
               "grokking_epoch": grokking_epoch(tr[:e, i], te[:e, i]),
               **outcome}
        for key, stats in trained.kappa.items():
            degenerate = bool(stats["degenerate"][i])
            row[f"kappa_{key}"] = None if degenerate else stats["kappa"][i]
            row[f"trace_{key}"] = stats["trace_over_d"][i]
        row["degenerate_final"] = bool(trained.kappa["final"]["degenerate"][i])
        out.append({k: _cell(row[k]) for k in names})
    return out
