"""Stage `conditions`: training recipes side by side (grokking at B=32 vs B=512, weight decay,
epochs, training-set size) -> metrics/conditions.json, plots/grokking.csv, plots/grokking.png.
Reads: params.yaml (seed, task, conditions, anneal). Writes: plots/grokking.csv, plots/grokking.png,
metrics/conditions.json."""

from __future__ import annotations

import sys

import torch
from tqdm import tqdm

from bilinear import params as blocks
from bilinear.checks import Outputs
from bilinear.learn.methods import anneal
from bilinear.learn.training import check_memory
from bilinear.params import Field, ParamError, read_sections, validate
from bilinear.report.figures import grokking_figure
from bilinear.seeds import run_seeds
from bilinear.stage import stage_main
from bilinear.studies.conditions import (
    AnnealSetup,
    Condition,
    curve_rows,
    run_condition,
    summarize,
)

SPECS = {
    "seed": blocks.SEED,
    "task": blocks.TASK,
    "conditions": {
        "seeds": Field(int, low=1, high=1000),
        "n_test": Field(int, low=1),
        "lr": blocks.LR,
        "slots": blocks.SLOTS,
        "pruned_slots": blocks.SLOTS,
        "recipes": Field(list, min_len=1),
        "anneal_controls": Field(list),
    },
    "anneal": blocks.ANNEAL,
}
CONTROL = {
    "name": Field(str),
    "condition": Field(str),
    "loss": Field(str, choices=anneal.LOSSES),
    "penalty": Field(bool),
}
CONDITION = {"name": Field(str), "n_train": Field(int, low=1),  # epochs 0: the untrained control
             **blocks.recipe("batch_size", "weight_decay", epochs=Field(int, low=0))}


def read_conditions() -> tuple[dict, list[Condition]]:
    """Validated params and the list of conditions (names must be unique)."""
    params = read_sections(SPECS)
    recipes = [Condition(**validate(f"conditions.recipes[{i}]", r, CONDITION))
               for i, r in enumerate(params["conditions"]["recipes"])]
    names = [c.name for c in recipes]
    if len(set(names)) != len(names):
        raise ParamError(f"conditions.recipes: duplicate names in {names}")
    blocks.check_pruned("conditions", params["conditions"])
    for i, c in enumerate(recipes):
        check_memory("conditions", tuple(params["task"]["format"]), params["conditions"]["slots"],
                     c.epochs, max(c.n_train, params["conditions"]["n_test"]),
                     runs=params["conditions"]["seeds"], epochs_key=f"recipes[{i}].epochs")
    controls = [validate(f"conditions.anneal_controls[{i}]", c, CONTROL)
                for i, c in enumerate(params["conditions"]["anneal_controls"])]
    for i, c in enumerate(controls):
        if c["condition"] not in names:
            raise ParamError(f"conditions.anneal_controls[{i}].condition: {c['condition']!r} is "
                             f"not a recipe name ({names})")
    if len({c["name"] for c in controls}) != len(controls):
        raise ParamError("conditions.anneal_controls: duplicate names")
    params["conditions"]["anneal_controls"] = controls
    return params, recipes


def anneal_setup(params: dict, cond: Condition) -> AnnealSetup:
    """The anneal of params `anneal` and the controls that params assign to `cond`."""
    base = anneal.Schedule.from_params(params["anneal"])
    controls = {c["name"]: anneal.Schedule.from_params(
        params["anneal"], loss=c["loss"], **({} if c["penalty"] else {"penalty_end": 0.0}))
        for c in params["conditions"]["anneal_controls"] if c["condition"] == cond.name}
    return AnnealSetup(params["anneal"]["lr"], base, controls)


@stage_main
def main() -> int:
    """Train, prune and crystallize every condition; write metrics, curves and the figure."""
    params, recipes = read_conditions()
    torch.set_num_threads(1)
    cfg, seed = params["conditions"], params["seed"]
    fmt = tuple(params["task"]["format"])
    seeds = run_seeds("conditions", seed, cfg["seeds"])
    results = []
    for cond in tqdm(recipes, desc="conditions"):
        results.append(run_condition(fmt, cond, seeds, seed, cfg["n_test"], cfg["slots"],
                                     cfg["pruned_slots"], cfg["lr"], anneal_setup(params, cond),
                                     progress=True))
    summaries = {r.condition.name: summarize(r) for r in results}
    out = Outputs()
    out.add_json("metrics/conditions.json", {"seeds": seeds, "lr": cfg["lr"],
                                             "conditions": summaries}, "the conditions' summaries")
    out.add_csv("plots/grokking.csv", [row for r in results for row in curve_rows(r)])
    out.add_bytes("plots/grokking.png", grokking_figure(
        {r.condition.name: (r.train_loss, r.test_loss) for r in results}))
    out.commit()
    print("conditions: " + "; ".join(
        f"{name}: grokked {s['grokked_runs']}/{s['runs']}, exact " + ", ".join(
            f"{k[6:]} {v}" for k, v in s.items() if k.startswith("exact_"))
        for name, s in summaries.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
