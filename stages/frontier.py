"""Stage `frontier`: the paper's recipe at <3,3,3> (train 27 slots, prune to 23) crystallized by
every method on many seeds -> metrics/frontier.json (yields, exact schemes, seconds per scheme).
Reads: params.yaml (seed, frontier). Writes: metrics/frontier.json."""

from __future__ import annotations

import sys

import torch

from bilinear import params as blocks
from bilinear.io import write_json
from bilinear.learn.methods import METHODS, anneal
from bilinear.learn.training import Recipe, check_memory
from bilinear.params import Field, ParamError, read_sections
from bilinear.seeds import run_seeds
from bilinear.stage import stage_main
from bilinear.studies.frontier import FrontierSetup, run_frontier, summarize_frontier
from bilinear.studies.stats import clean

SPECS = {
    "seed": blocks.SEED,
    "frontier": {
        **blocks.TASK,
        "seeds": Field(int, low=1, high=1000),
        "slots": blocks.SLOTS,
        "pruned_slots": blocks.SLOTS,
        **blocks.RECIPE,
        "n_train": Field(int, low=1),
        "n_test": Field(int, low=1),
        "methods": Field(list, item=str, min_len=1),
        "budget": Field(float, low=0.1, high=3600.0),
        "sparsify_tol": blocks.SPARSIFY_TOL,
        "rank_threshold": Field(float, low=0.0, high=1.0),
        "attempts": Field(int, low=1, high=1000),
        "anneal": {k: f for k, f in blocks.ANNEAL.items() if k != "steps_reference_batch"},
    },
}


def read_setup() -> tuple[FrontierSetup, list[int], int]:
    """Validated setup, run seeds and data seed from params.yaml."""
    params = read_sections(SPECS)
    cfg = params["frontier"]
    blocks.check_pruned("frontier", cfg)
    unknown = [m for m in cfg["methods"] if m not in METHODS]
    if unknown or len(set(cfg["methods"])) != len(cfg["methods"]):
        raise ParamError(f"frontier.methods: expected distinct items of {list(METHODS)}, "
                         f"got {cfg['methods']}")
    check_memory("frontier", tuple(cfg["format"]), cfg["slots"], cfg["epochs"],
                 max(cfg["n_train"], cfg["n_test"]), runs=cfg["seeds"])
    setup = FrontierSetup(tuple(cfg["format"]), cfg["slots"], cfg["pruned_slots"],
                          Recipe.from_params(cfg),
                          cfg["n_train"], cfg["n_test"], tuple(cfg["methods"]), cfg["budget"],
                          cfg["sparsify_tol"], cfg["rank_threshold"],
                          anneal.Schedule.from_params(cfg["anneal"]), cfg["anneal"]["lr"],
                          cfg["attempts"])
    seed = params["seed"]
    return setup, run_seeds("frontier", seed, cfg["seeds"]), seed


@stage_main
def main() -> int:
    """Run the frontier study and write metrics/frontier.json."""
    setup, seeds, data_seed = read_setup()
    torch.set_num_threads(1)
    records = run_frontier(setup, seeds, data_seed, progress=True)
    summary = summarize_frontier(records, setup.methods)
    write_json("metrics/frontier.json", clean({
        "format": list(setup.fmt), "slots": setup.slots, "pruned_slots": setup.pruned_slots,
        "budget_seconds": setup.budget, "seeds": seeds, **summary, "runs_detail": records}))
    print("frontier: " + "; ".join(
        f"{m}: exact {s['exact_schemes']}/{summary['runs']}, "
        f"{s['seconds_per_run']:.1f} s per run" for m, s in summary["methods"].items())
        + f"; effective rank at {setup.slots} slots: {summary['effective_rank']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
