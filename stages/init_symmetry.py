"""Stage `init_symmetry`: the readings of the paper's "symmetric initialization" (assumption A4)
side by side at the paper's recipe, the same seeds under each: tied (V = U, the default),
independent draws of one law, a sign-symmetric two-point law, and the asymmetric control; each
run pruned and crystallized by round (the paper's recipe), sparsify and anneal.
-> metrics/init_symmetry.json
Reads: params.yaml (seed, task, anneal, init_symmetry). Writes: metrics/init_symmetry.json."""

from __future__ import annotations

import sys

import torch
from tqdm import tqdm

from bilinear import params as blocks
from bilinear.intervals import wilson
from bilinear.io import write_json
from bilinear.params import Field, ParamError, read_sections
from bilinear.seeds import run_seeds
from bilinear.stage import stage_main
from bilinear.studies import factorial
from bilinear.studies.odds import compare
from bilinear.studies.stats import clean

SPECS = {"seed": blocks.SEED, "task": blocks.TASK, "anneal": blocks.ANNEAL,
         "init_symmetry": {**factorial.COMMON, **blocks.recipe(),
                           "inits": Field(list, item=str, min_len=2)}}
DEFAULT, CONTROL = "tied", "unequal"


@stage_main
def main() -> int:
    """Run every initialisation, then rates and the tests against the default and the control."""
    params = read_sections(SPECS)
    cfg = params["init_symmetry"]
    inits = factorial.check_inits("init_symmetry.inits", cfg["inits"])
    if DEFAULT not in inits:
        raise ParamError(f"init_symmetry.inits: must include the default {DEFAULT!r}")
    setup = factorial.setup_from("init_symmetry", cfg, params["task"]["format"], params["anneal"])
    seeds = run_seeds("init_symmetry", params["seed"], cfg["seeds"])
    torch.set_num_threads(1)
    results = {}
    for init in tqdm(inits, desc="init_symmetry"):
        cell = factorial.Cell(cfg["batch_size"], cfg["weight_decay"], cfg["epochs"], init)
        results[init] = factorial.run_cell(cell, seeds, params["seed"], setup)
    n, out = len(seeds), {}
    for init, res in results.items():
        rec = {}
        for method in setup.methods:
            k = sum(res["success"][method])
            rec[method] = {"success": wilson(k, n, cfg["alpha"]),
                           "exact": wilson(sum(res["exact"][method]), n, cfg["alpha"])}
            for ref, alt in ((DEFAULT, "two-sided"), (CONTROL, "greater")):
                if ref in results and ref != init:
                    rec[method][f"vs_{ref}"] = compare(k, n, sum(results[ref]["success"][method]),
                                                       n, alt)
        out[init] = rec
    write_json("metrics/init_symmetry.json", clean({
        "seeds": seeds, "runs_per_init": n, "default": DEFAULT, "control": CONTROL,
        "success": "exact and expanding (the batch-size study's definition)",
        "recipe": {k: cfg[k] for k in ("epochs", "batch_size", "lr", "weight_decay")},
        "inits": out}))
    print("init_symmetry: " + "; ".join(
        f"{i}: " + ", ".join(f"{m} {r[m]['success']['successes']}/{n}" for m in setup.methods)
        for i, r in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
