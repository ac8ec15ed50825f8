"""anneal's phase diagram: weight decay x L1 strength at one batch size, seeds as replicates.

Every seed trains the paper's Phase 1 once (the sweep's recipe at the grid's batch size), is
pruned, and is then annealed in every cell (weight decay of the anneal, L1 strength of its phases
2 and 3), on its own pairs and mini-batch stream.  The outcome of a run is exact-after-Q; the
analysis is the study's: Wilson intervals per cell, a two-way ANOVA on the categorical factors
(eta^2 effect sizes) and a logistic regression on log10 of the factors (zero levels are put one
decade below the smallest positive one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from bilinear.intervals import wilson
from bilinear.learn.data import make_datasets
from bilinear.learn.methods.anneal import Schedule, anneal_crystals
from bilinear.learn.prune import prune
from bilinear.learn.training import Recipe, init_runs, train_runs
from bilinear.studies import stats


def run_grid(fmt: tuple[int, int, int], seeds: list[int], batch: int, phase1: Recipe, slots: int,
             pruned_slots: int, n_train: int, lr: float, schedule: Schedule,
             weight_decays: list[float], l1s: list[float], progress: bool = False) -> pd.DataFrame:
    """One row per (weight_decay, l1, seed): exact, margin, Phase 1's final train loss."""
    sets = [make_datasets(fmt, n_train, 1, s)[0] for s in seeds]
    train = {k: np.stack([d[k] for d in sets]) for k in "abc"}
    U, V, W = init_runs(fmt, slots, seeds)
    result = train_runs(U, V, W, train, train, phase1, seeds, progress=progress)
    Up, Vp, Wp, _ = prune(result.U, result.V, result.W, pruned_slots)
    rows = []
    cells = [(wd, l1) for wd in weight_decays for l1 in l1s]
    for wd, l1 in tqdm(cells, desc="anneal grid", disable=not progress):
        recipe = Recipe(batch_size=batch, lr=lr, weight_decay=wd)
        sched = Schedule(**{**schedule.__dict__, "l1": l1})
        crystals, _ = anneal_crystals(Up.clone(), Vp.clone(), Wp.clone(), train, recipe, sched,
                                      seeds)
        rows += [{"weight_decay": wd, "l1": l1, "seed": s, "exact": bool(c.exact),
                  "margin": c.margin, "phase1_train_loss": float(result.train_loss[-1, i])}
                 for i, (s, c) in enumerate(zip(seeds, crystals, strict=True))]
    return pd.DataFrame(rows)


def _log_level(x: pd.Series) -> pd.Series:
    positive = x[x > 0]
    floor = positive.min() / 10 if len(positive) else 1.0
    return np.log10(x.where(x > 0, floor))


def analyze(df: pd.DataFrame, alpha: float) -> tuple[dict, pd.DataFrame]:
    """(metrics, per-cell table): Wilson rate per cell, ANOVA, logistic regression."""
    df = df.assign(success=df["exact"].astype(float))
    cells = []
    for (wd, l1), g in df.groupby(["weight_decay", "l1"], sort=True):
        cells.append({"weight_decay": wd, "l1": l1,
                      **wilson(int(g["success"].sum()), len(g), alpha)})
    table = pd.DataFrame(cells)
    X = np.column_stack([np.ones(len(df)), _log_level(df["weight_decay"]), _log_level(df["l1"])])
    res, problem = stats.fit_logit(df["success"].to_numpy(float), X)
    names = ["const", "log10_weight_decay", "log10_l1"]
    logit = ({"degenerate": True, "reason": problem or "fit failed"} if res is None or problem
             else {"degenerate": False,
                   "coef": dict(zip(names, res.params.tolist(), strict=True)),
                   "p": dict(zip(names, res.pvalues.tolist(), strict=True))})
    metrics = {"runs": len(df), "overall": wilson(int(df["success"].sum()), len(df), alpha),
               "anova": stats.anova(df, "success", ["weight_decay", "l1"]),
               "logit": logit, "cells": table.to_dict(orient="records")}
    return stats.clean(metrics), table
