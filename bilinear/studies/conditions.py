"""Training conditions side by side: the paper's grokking and recipe claims, measured.

A condition is one recipe (batch size, weight decay, epochs, training-set size).  Every condition
trains the same seeds as one batched program, prunes each run and crystallizes it by every method,
and keeps the per-epoch loss curves, so grokking (the paper's operational detector), the recipe's
success rate and the curves come from the same runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bilinear.learn.data import make_datasets
from bilinear.learn.methods import SOLVED, discretize
from bilinear.learn.methods.anneal import Schedule, anneal_crystals
from bilinear.learn.prune import prune
from bilinear.learn.training import Recipe, dataset_mse, grokking_epoch, init_runs, train_runs


@dataclass(frozen=True)
class Condition:
    """One training recipe to compare: a name and the knobs that differ between conditions."""

    name: str
    batch_size: int
    weight_decay: float
    epochs: int
    n_train: int


@dataclass
class ConditionResult:
    """Per-run outcomes (lists indexed by run) and loss curves (epochs, runs) of one condition."""

    condition: Condition
    seeds: list[int]
    train_loss: np.ndarray
    test_loss: np.ndarray
    grokking_epoch: list[int | None]
    exact: dict[str, list[bool]]
    margin: dict[str, list[float]]
    phase1_exact: list[bool]


@dataclass(frozen=True)
class AnnealSetup:
    """How a condition's pruned runs are annealed: the anneal's lr, its schedule, and controls
    {name: schedule} (each adds a method anneal_<name>)."""

    lr: float
    schedule: Schedule
    controls: dict[str, Schedule]


def run_condition(fmt: tuple[int, int, int], cond: Condition, seeds: list[int], data_seed: int,
                  n_test: int, slots: int, pruned_slots: int, lr: float, setup: AnnealSetup,
                  progress: bool = False) -> ConditionResult:
    """Train every seed under `cond` at once, then prune and crystallize each run by every method:
    round, sparsify, anneal (at the condition's batch size and weight decay, on its pairs) and
    the anneal controls of `setup`.

    epochs = 0 is the untrained control: the initialisation itself is pruned and crystallized
    (its loss curves hold one row, the initial losses).
    The training and test sets are shared by all runs of the condition (drawn from data_seed);
    each seed sets its run's initialisation and mini-batch order."""
    train, test = make_datasets(fmt, cond.n_train, n_test, data_seed)
    U, V, W = init_runs(fmt, slots, seeds)
    recipe = Recipe(epochs=cond.epochs, batch_size=cond.batch_size, lr=lr,
                    weight_decay=cond.weight_decay)
    if cond.epochs > 0:
        result = train_runs(U, V, W, train, test, recipe, seeds, progress=progress)
        U, V, W, train_loss, test_loss = (result.U, result.V, result.W, result.train_loss,
                                          result.test_loss)
    else:  # the untrained control: crystallize the initialisation itself
        train_loss = dataset_mse(U, V, W, train)[None, :]
        test_loss = dataset_mse(U, V, W, test)[None, :]
    Up, Vp, Wp, _ = prune(U, V, W, pruned_slots)
    exact = {m: [] for m in SOLVED}
    margin = {m: [] for m in SOLVED}
    phase1 = []  # the paper's "Phase 1 alone": round the unpruned model
    for r in range(len(seeds)):
        phase1.append(bool(discretize(fmt, U[r].numpy(), V[r].numpy(), W[r].numpy(),
                                      "round").exact))
        for method in SOLVED:
            crystal = discretize(fmt, Up[r].numpy(), Vp[r].numpy(), Wp[r].numpy(), method)
            exact[method].append(bool(crystal.exact))
            margin[method].append(float(crystal.margin))
    anneal_recipe = Recipe(batch_size=cond.batch_size, lr=setup.lr,
                           weight_decay=cond.weight_decay)
    variants = {"anneal": setup.schedule, **{f"anneal_{k}": v for k, v in setup.controls.items()}}
    for method, schedule in variants.items():
        crystals, _ = anneal_crystals(Up, Vp, Wp, train, anneal_recipe, schedule, seeds, progress)
        exact[method] = [bool(c.exact) for c in crystals]
        margin[method] = [float(c.margin) for c in crystals]
    groks = [grokking_epoch(train_loss[:, r], test_loss[:, r]) for r in range(len(seeds))]
    return ConditionResult(cond, list(seeds), train_loss, test_loss, groks, exact, margin,
                           phase1)


def summarize(res: ConditionResult) -> dict:
    """JSON-ready summary of a condition: recipe, grokking epochs, final losses, successes."""
    runs = len(res.seeds)
    grokked = [e for e in res.grokking_epoch if e is not None]
    summary = {
        "batch_size": res.condition.batch_size,
        "weight_decay": res.condition.weight_decay,
        "epochs": res.condition.epochs,
        "n_train": res.condition.n_train,
        "runs": runs,
        "grokking_epochs": res.grokking_epoch,
        "grokked_runs": len(grokked),
        "median_grokking_epoch": float(np.median(grokked)) if grokked else None,
        "median_final_train_loss": float(np.median(res.train_loss[-1])),
        "median_final_test_loss": float(np.median(res.test_loss[-1])),
        "memorization_plateau_runs": int(sum(_plateau(res.train_loss[:, r], res.test_loss[:, r])
                                             for r in range(runs))),
    }
    summary["exact_phase1_round"] = int(sum(res.phase1_exact))
    for method in res.exact:
        summary[f"exact_{method}"] = int(sum(res.exact[method]))
        summary[f"median_margin_{method}"] = float(np.median(res.margin[method]))
    return summary


def _plateau(train_loss: np.ndarray, test_loss: np.ndarray, length: int = 100) -> bool:
    """Whether the run ever spends `length` consecutive epochs with train < 1e-6, test > 0.1."""
    mask = (train_loss < 1e-6) & (test_loss > 0.1)
    run = 0
    for flag in mask:
        run = run + 1 if flag else 0
        if run >= length:
            return True
    return False


def curve_rows(res: ConditionResult) -> list[dict]:
    """Per-epoch median (over runs) log10 train and test loss of one condition, for DVC plots."""
    tr = np.log10(np.maximum(np.median(res.train_loss, axis=1), 1e-300))
    te = np.log10(np.maximum(np.median(res.test_loss, axis=1), 1e-300))
    return [{"condition": res.condition.name, "epoch": e + 1,
             "log10_train_loss": round(float(tr[e]), 6), "log10_test_loss": round(float(te[e]), 6)}
            for e in range(len(tr))]
