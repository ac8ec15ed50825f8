"""The batch-size study's runs trained again, weights kept at chosen checkpoints.

The sweep stores outcomes, not weights.  Its runs are deterministic (studies.sweep: a run's seed
fixes its pairs and initial weights, its replica its mini-batch order; training a batch of runs
is bit-identical to training each alone), so retraining them with the same params gives the same
trajectories: the final training loss is compared with the sweep's CSV to show it.

Checkpoints: at equal epochs, a percentage p of training (epoch max(1, round(p E / 100))) and
the last epoch; at equal optimizer steps, the epoch at which batch size B has taken as many steps
as the reference batch size at that percentage (steps per epoch: ceil(n_train / B)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bilinear.learn.training import Layout, pack, train_runs
from bilinear.studies import sweep


def equal_epochs(percents, epochs: int) -> dict[str, int]:
    """{'e<p>': epoch} per percentage, and 'final'."""
    out = {f"e{p}": max(1, round(p * epochs / 100)) for p in percents}
    out["final"] = epochs
    return out


def equal_steps(percents, epochs: int, n_train: int, batch: int, reference: int) -> dict:
    """{'s<p>': epoch}: the epoch (1..epochs) at which batch size `batch` has taken the steps the
    reference batch size takes by p percent of training."""
    out = {}
    for p in percents:
        steps = max(1, round(p * epochs / 100)) * math.ceil(n_train / reference)
        out[f"s{p}"] = min(epochs, max(1, round(steps / math.ceil(n_train / batch))))
    return out


@dataclass
class Replayed:
    """The runs of one batch size: their training pairs, weights per checkpoint name, losses."""

    runs: list
    train_set: dict
    snapshots: dict[str, np.ndarray]  # checkpoint name -> theta (R, D)
    final_train_loss: np.ndarray
    layout: Layout


def replay_batch(runs: list, cfg: dict, checkpoints: dict[str, int],
                 extra_epochs=()) -> tuple[Replayed, dict[int, np.ndarray]]:
    """Retrain the runs of one batch size (params `sweep` as read by sweep_batch.read_params);
    keep theta at every checkpoint {name: epoch} and at `extra_epochs` ({epoch: theta})."""
    inputs = sweep.batch_inputs(runs, cfg)
    layout = Layout(tuple(cfg["format"]), cfg["slots"])
    wanted = set(checkpoints.values()) | set(extra_epochs)
    kept: dict[int, np.ndarray] = {0: inputs_theta(inputs)} if 0 in wanted else {}

    def record(epoch: int, theta) -> None:
        if epoch in wanted:
            kept[epoch] = theta.numpy().copy()

    result = train_runs(inputs.U, inputs.V, inputs.W, inputs.train_set, inputs.test_set,
                        inputs.recipe, inputs.shuffle_seeds, callback=record)
    snaps = {name: kept[e] for name, e in checkpoints.items()}
    return (Replayed(runs, inputs.train_set, snaps, result.train_loss[-1], layout),
            {e: kept[e] for e in extra_epochs})


def inputs_theta(inputs: sweep.BatchInputs) -> np.ndarray:
    """The initial theta (R, D) of a batch of runs."""
    return pack(inputs.U, inputs.V, inputs.W).numpy().copy()


def sweep_agreement(replayed: Replayed, table) -> float:
    """Largest relative difference between the retrained final training losses and the sweep
    CSV's (its final rows, any method: the loss is the trained model's)."""
    final = table[table["final"].astype(str) == "True"].drop_duplicates("run_id")
    loss = dict(zip(final["run_id"], final["train_loss"].astype(float), strict=True))
    ours = np.array([replayed.final_train_loss[i] for i, _ in enumerate(replayed.runs)])
    theirs = np.array([loss.get(r.run_id, np.nan) for r in replayed.runs])
    return float(np.nanmax(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300)))
