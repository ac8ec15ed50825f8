"""Stage `conditions`: training recipes side by side (grokking at B=32 vs B=512, weight decay,
epochs, training-set size) -> metrics/conditions.json, plots/grokking.csv, plots/grokking.png."""

from __future__ import annotations

import sys

import torch
from tqdm import tqdm

from bilinear.io import atomic_write_bytes, write_csv, write_json
from bilinear.params import Field, ParamError, read_sections, validate
from bilinear.report.figures import grokking_figure
from bilinear.stage import stage_main
from bilinear.studies.conditions import Condition, curve_rows, run_condition, summarize

SPECS = {
    "seed": Field(int, low=0),
    "task": {"format": Field(list, item=int, low=1, min_len=3)},
    "conditions": {
        "seeds": Field(int, low=1, high=1000),
        "n_test": Field(int, low=1),
        "lr": Field(float, low=1e-12, high=10.0),
        "slots": Field(int, low=1),
        "pruned_slots": Field(int, low=1),
        "recipes": Field(list, min_len=1),
    },
}
RECIPE = {
    "name": Field(str),
    "batch_size": Field(int, low=1),
    "weight_decay": Field(float, low=0.0, high=1.0),
    "epochs": Field(int, low=0),
    "n_train": Field(int, low=1),
}
SEED_OFFSET = 5000  # run seeds: seed * 100_000 + SEED_OFFSET + k (disjoint from the main run's)


def read_conditions() -> tuple[dict, list[Condition]]:
    """Validated params and the list of conditions (names must be unique)."""
    params = read_sections(SPECS)
    recipes = [Condition(**validate(f"conditions.recipes[{i}]", r, RECIPE))
               for i, r in enumerate(params["conditions"]["recipes"])]
    names = [c.name for c in recipes]
    if len(set(names)) != len(names):
        raise ParamError(f"conditions.recipes: duplicate names in {names}")
    if len(params["task"]["format"]) != 3:
        raise ParamError("task.format: expected three integers [n, m, p]")
    return params, recipes


@stage_main
def main() -> int:
    """Train, prune and crystallize every condition; write metrics, curves and the figure."""
    params, recipes = read_conditions()
    torch.set_num_threads(1)
    cfg, seed = params["conditions"], params["seed"]
    fmt = tuple(params["task"]["format"])
    seeds = [seed * 100_000 + SEED_OFFSET + k for k in range(cfg["seeds"])]
    results = []
    for cond in tqdm(recipes, desc="conditions"):
        results.append(run_condition(fmt, cond, seeds, seed, cfg["n_test"], cfg["slots"],
                                     cfg["pruned_slots"], cfg["lr"], progress=True))
    summaries = {r.condition.name: summarize(r) for r in results}
    write_json("metrics/conditions.json", {"seeds": seeds, "lr": cfg["lr"],
                                           "conditions": summaries})
    write_csv("plots/grokking.csv", [row for r in results for row in curve_rows(r)])
    atomic_write_bytes("plots/grokking.png", grokking_figure(
        {r.condition.name: (r.train_loss, r.test_loss) for r in results}))
    print("conditions: " + "; ".join(
        f"{name}: grokked {s['grokked_runs']}/{s['runs']}, exact round {s['exact_round']}, "
        f"sparsify {s['exact_sparsify']}" for name, s in summaries.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
