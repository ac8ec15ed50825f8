"""Stage `discretize`: the paper's Phase 2b, continuous weights -> exact integer scheme.
Reads: params.yaml (discretize, anneal), models/pruned.pt, data/train.npz. Writes:
models/algorithm.json, metrics/discretize.json."""

from __future__ import annotations

import sys

from bilinear import params as blocks
from bilinear.algebra.equivalence import equivalent_to_strassen
from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.schemes import Scheme, strassen
from bilinear.checks import (
    InputError,
    Outputs,
    check_entries,
    check_pairs,
    check_result_scheme,
    check_weights,
)
from bilinear.io import load_npz, load_torch
from bilinear.learn.methods import METHODS, anneal, discretize
from bilinear.learn.training import Recipe
from bilinear.params import Field, read_sections
from bilinear.stage import stage_main

SPECS = {
    "discretize": {
        "method": Field(str, choices=tuple(METHODS)),
        "sparsify_tol": blocks.SPARSIFY_TOL,
        "fallback": Field(bool),
    },
    "anneal": blocks.ANNEAL,
}


@stage_main
def main() -> int:
    """Write models/algorithm.json and metrics/discretize.json."""
    params = read_sections(SPECS)
    cfg = params["discretize"]
    ckpt = load_torch("models/pruned.pt", keys=("format", "U", "V", "W", "recipe", "prune", "seed"))
    fmt, _ = check_weights("models/pruned.pt", ckpt, runs=1)
    check_entries("models/pruned.pt", ckpt, {"seed": int})
    check_entries("models/pruned.pt[recipe]", ckpt["recipe"],
                  {"batch_size": int, "weight_decay": float, "slots": int, "init": str})
    check_entries("models/pruned.pt[prune]", ckpt["prune"], {"pruned_slots": int})
    train = load_npz("data/train.npz", keys=("a", "b", "c"))
    check_pairs("data/train.npz", train, fmt, "models/pruned.pt")
    options = None
    if cfg["method"] == "anneal":  # the recipe's own pairs, batch size, weight decay and shuffling
        if ckpt["recipe"]["batch_size"] < 1:
            raise InputError(f"models/pruned.pt[recipe]: batch_size "
                             f"{ckpt['recipe']['batch_size']} is not >= 1")
        recipe = Recipe(batch_size=ckpt["recipe"]["batch_size"], lr=params["anneal"]["lr"],
                        weight_decay=ckpt["recipe"]["weight_decay"])
        options = {"train": train, "recipe": recipe, "seed": ckpt["seed"],
                   "schedule": anneal.Schedule.from_params(params["anneal"])}
    crystal = discretize(fmt, ckpt["U"][0].numpy(), ckpt["V"][0].numpy(), ckpt["W"][0].numpy(),
                         cfg["method"], cfg["sparsify_tol"], anneal=options)
    learned = crystal.scheme
    use_fallback = not crystal.exact and cfg["fallback"] and fmt == (2, 2, 2)
    # The recipe is named by its structure only; its hyperparameters (batch size, lr, ...) live in
    # params.yaml and dvc.lock, so two runs that crystallize the same algorithm write the same
    # bytes and the native kernel is not rebuilt.
    recipe = (f"AdamW on Gaussian pairs, {ckpt['recipe']['slots']} slots "
              f"({ckpt['recipe']['init']} init), pruned to {ckpt['prune']['pruned_slots']}")
    provenance = {"recipe": recipe, "seed": ckpt["seed"], "method": cfg["method"],
                  "fallback": use_fallback}
    written = strassen() if use_fallback else learned
    check_result_scheme(written, "models/algorithm.json")
    out = Outputs()
    out.add_text("models/algorithm.json",
                 scheme_to_json(Scheme(fmt, written.U, written.V, written.W, provenance)))
    metrics = {
        "exact": crystal.exact,
        "fallback": use_fallback,
        "method": cfg["method"],
        "margin": crystal.margin,
        "input_residual": crystal.input_residual,
        "rank": learned.rank,
        "nonzeros": learned.nonzeros(),
        "coefficients_in_unit_set": all(abs(x) <= 1 for t in (learned.U, learned.V, learned.W)
                                        for x in t.flat),
        "equivalent_to_strassen": equivalent_to_strassen(learned),
    }
    out.add_json("metrics/discretize.json", metrics, "the crystallization's metrics")
    out.commit()
    print(f"discretize: method {cfg['method']}, exact {crystal.exact}, margin "
          f"{crystal.margin:.3g}, {metrics['nonzeros']} nonzeros, fallback {use_fallback}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
