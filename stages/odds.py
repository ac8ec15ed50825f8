"""Stage `odds`: the paper's ablation "with odds ratios for each factor": a two-level factorial
design over weight decay, epochs, initialisation and batch size, every cell trained from the same
seeds, pruned and crystallized; per method a logistic regression of success on the four factors.
-> metrics/odds.json, plots/odds.csv (one row per run)
Reads: params.yaml (seed, task, anneal, odds). Writes: metrics/odds.json, plots/odds.csv."""

from __future__ import annotations

import itertools
import sys

import pandas as pd
import torch
from tqdm import tqdm

from bilinear import params as blocks
from bilinear.io import write_csv, write_json
from bilinear.params import Field, ParamError, read_sections
from bilinear.seeds import run_seeds
from bilinear.stage import stage_main
from bilinear.studies import factorial
from bilinear.studies.odds import odds_ratios
from bilinear.studies.stats import clean


def _pair(kind: type, **bounds) -> Field:
    return Field(list, item=kind, min_len=2, max_len=2, **bounds)


SPECS = {"seed": blocks.SEED, "task": blocks.TASK, "anneal": blocks.ANNEAL,
         "odds": {**factorial.COMMON,
                  "weight_decays": _pair(float, low=0.0, high=1.0),
                  "epochs": _pair(int, low=1), "inits": Field(list, item=str, min_len=2,
                                                              max_len=2),
                  "batch_sizes": _pair(int, low=1)}}
FACTORS = {"weight_decay": "weight_decays", "epochs": "epochs", "init": "inits",
           "batch_size": "batch_sizes"}


@stage_main
def main() -> int:
    """Run every cell, fit the logistic regression per method, write metrics and runs."""
    params = read_sections(SPECS)
    cfg = params["odds"]
    factorial.check_inits("odds.inits", cfg["inits"])
    levels = {f: cfg[k] for f, k in FACTORS.items()}
    for f, pair in levels.items():
        if pair[0] == pair[1]:
            raise ParamError(f"odds.{FACTORS[f]}: the two levels must differ, got {pair}")
    setup = factorial.setup_from("odds", cfg, params["task"]["format"], params["anneal"])
    seeds = run_seeds("odds", params["seed"], cfg["seeds"])
    torch.set_num_threads(1)
    rows = []
    for wd, ep, init, batch in tqdm(list(itertools.product(*levels.values())), desc="odds"):
        res = factorial.run_cell(factorial.Cell(batch, wd, ep, init), seeds, params["seed"],
                                 setup)
        for i, s in enumerate(seeds):
            rows.append({"weight_decay": wd, "epochs": ep, "init": init, "batch_size": batch,
                         "seed": s, **{f"success_{m}": int(res["success"][m][i])
                                       for m in setup.methods},
                         **{f"exact_{m}": int(res["exact"][m][i]) for m in setup.methods}})
    table = pd.DataFrame(rows)
    fits = {m: odds_ratios(table, f"success_{m}", levels, cfg["alpha"]) for m in setup.methods}
    write_json("metrics/odds.json", clean({
        "runs": len(table), "cells": len(table) // len(seeds), "seeds": seeds,
        "levels": levels, "success": "exact and expanding (the batch-size study's definition)",
        "odds_ratio": "of each factor's second level against its first",
        "methods": fits}))
    write_csv("plots/odds.csv", rows)
    print("odds: " + "; ".join(
        f"{m}: " + (f["reason"] if f["degenerate"] else ", ".join(
            f"{k} OR {v['odds_ratio']:.2g} [{v['ci_low']:.2g}, {v['ci_high']:.2g}]"
            for k, v in f["factors"].items())) for m, f in fits.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
