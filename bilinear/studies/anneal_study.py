"""anneal in the batch-size study: every run's final pruned model annealed at its batch size.

Two protocols per run (rows of method ``anneal`` and ``anneal_equal_steps``): at equal epochs (the
paper's: every batch size runs the schedule's epochs) and at equal optimizer steps (at batch size
B every phase runs epochs * B / steps_reference_batch epochs, so that every batch size takes the
steps of the reference one; at the reference batch size the two are the same runs).  The runs of
one batch size are annealed at once, on their own training pairs, with their own mini-batch
streams, at the study's weight decay and the anneal's learning rate.
"""

from __future__ import annotations

import time

import torch

from bilinear.learn.methods.anneal import Schedule, anneal_runs
from bilinear.learn.prune import prune
from bilinear.learn.training import Recipe
from bilinear.studies import sweep

PROTOCOLS = ("anneal", "anneal_equal_steps")


def schedules(anneal_cfg: dict, batch: int) -> dict[str, Schedule]:
    """{method: schedule} of the two protocols at batch size `batch` (params `anneal`)."""
    base = Schedule.from_params(anneal_cfg)
    return {"anneal": base,
            "anneal_equal_steps": base.scaled(batch / anneal_cfg["steps_reference_batch"])}


def anneal_tasks(trained: sweep.Trained, cfg: dict, anneal_cfg: dict,
                 progress: bool = False) -> tuple[list[tuple], dict[str, float]]:
    """Crystallization tasks (run index, final epoch, method, U, V, W) of the annealed weights,
    run-major as sweep.crystallization_tasks, and the seconds each protocol's anneal took."""
    runs, final = trained.runs, cfg["epochs"]
    batch = runs[0].batch_size
    inputs = sweep.batch_inputs(runs, cfg)
    U, V, W = prune(*(torch.from_numpy(x) for x in trained.snapshots[final]),
                    cfg["pruned_slots"])[:3]
    recipe = Recipe(batch_size=batch, lr=anneal_cfg["lr"], weight_decay=cfg["weight_decay"])
    weights, seconds, done = {}, {}, {}
    for method, schedule in schedules(anneal_cfg, batch).items():
        if schedule in done:  # the reference batch size: equal steps are equal epochs
            weights[method], seconds[method] = weights[done[schedule]], 0.0
            continue
        start = time.perf_counter()
        out = anneal_runs(U, V, W, inputs.train_set, recipe, schedule, inputs.shuffle_seeds,
                          progress)
        seconds[method] = time.perf_counter() - start
        weights[method], done[schedule] = out, method
    tasks = [(i, final, m, weights[m].U[i].numpy(), weights[m].V[i].numpy(),
              weights[m].W[i].numpy()) for i in range(len(runs)) for m in PROTOCOLS]
    return tasks, seconds
