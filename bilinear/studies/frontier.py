"""The 3x3 frontier: the paper's recipe at a format it reports as failing, crystallized by every
method, with yields, exact schemes found and wall time per exact scheme.

The paper trained <3,3,3> with 27 slots and reports that it "did not converge ... effective rank
remained at 27".  Here every seed trains 27 slots on the same pairs (all seeds as one batched
program), is pruned to the kept slots and crystallized by each method within a time budget; the
effective rank (slots whose importance is at least a fraction of the largest) is recorded too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from bilinear.learn.crystallize import discretize, prune, slot_importance
from bilinear.learn.data import make_datasets
from bilinear.learn.training import Recipe, dataset_mse, init_runs, train_runs
from bilinear.studies.stats import wilson


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
    records = []
    jobs = [(r, m) for r in range(len(seeds)) for m in setup.methods]
    for r, method in tqdm(jobs, desc="frontier: crystallize", disable=not progress):
        c = discretize(setup.fmt, Up[r].numpy(), Vp[r].numpy(), Wp[r].numpy(), method,
                       setup.tol, setup.budget, progress=progress)
        records.append({
            "seed": seeds[r], "method": method, "exact": bool(c.exact),
            "seconds": float(c.seconds), "verdict": c.verdict, "margin": float(c.margin),
            "nonzeros": int(c.scheme.nonzeros()) if c.exact else None,
            "rank": int(c.scheme.rank),
            "train_loss": float(result.train_loss[-1, r]),
            "pruned_train_loss": float(pruned_loss[r]),
            "effective_rank": effective_rank(importance[r], setup.rank_threshold),
        })
    return records


def summarize_frontier(records: list[dict], methods: tuple[str, ...]) -> dict:
    """Per method: yield with its Wilson interval, exact schemes found, seconds per exact scheme;
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
            "verdicts": verdicts,
        }
    summary["exact_by_any_method"] = wilson(len(exact_any), summary["runs"])
    return summary
