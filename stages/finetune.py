"""Stage `finetune`: the paper's fine-tuning baseline, train 2x2, fine-tune at 4x4: a 49-slot
<4,4,4> model trained on 4x4 pairs from the perturbed Kronecker square of the learned 2x2 scheme
and from a random start, both crystallized by anneal; beside zero-shot expansion (the square).
-> metrics/finetune.json
Reads: params.yaml (seed, anneal, finetune), models/algorithm.json. Writes:
metrics/finetune.json."""

from __future__ import annotations

import sys

from bilinear import params as blocks
from bilinear.algebra.equivalence import equivalent_to_strassen
from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.schemes import verify
from bilinear.intervals import wilson
from bilinear.io import write_json
from bilinear.learn.methods.anneal import Schedule
from bilinear.learn.model import INITS
from bilinear.learn.training import Recipe
from bilinear.params import Field, ParamError, read_sections
from bilinear.search.executor import Interrupted
from bilinear.seeds import run_seeds
from bilinear.stage import stage_main
from bilinear.studies import finetune
from bilinear.studies.stats import clean

SPECS = {"seed": blocks.SEED, "anneal": blocks.ANNEAL,
         "finetune": {"seeds": Field(int, low=1, high=1000),
                      "perturbation": Field(float, low=0.0, high=10.0),
                      "init": Field(str, choices=INITS),
                      "init_scale": Field(float, low=1e-6),
                      "n_train": Field(int, low=1), "n_test": Field(int, low=1),
                      **blocks.recipe(), "alpha": blocks.ALPHA}}
SCHEME = "models/algorithm.json"


@stage_main
def main() -> int:
    """Zero-shot, then both starts trained and annealed; write the rates and seconds."""
    params = read_sections(SPECS)
    cfg = params["finetune"]
    learned = load_scheme(SCHEME)
    if learned.fmt != (2, 2, 2):
        raise ParamError(f"{SCHEME}: format {learned.fmt}, the baseline needs <2,2,2>")
    seeds = run_seeds("finetune", params["seed"], cfg["seeds"])
    if not verify(learned) or learned.provenance.get("fallback"):
        write_json("metrics/finetune.json", {"seeds": seeds, "learned_exact": False,
                                             "reason": f"{SCHEME} is not a learned exact scheme "
                                                       f"(inexact or a labelled fallback)"})
        print(f"finetune: not run, {SCHEME} is not a learned exact scheme")
        return 0
    setup = finetune.FineTune(cfg["n_train"], cfg["n_test"], Recipe.from_params(cfg),
                              params["anneal"]["lr"], Schedule.from_params(params["anneal"]))
    starts = {"kronecker": finetune.kronecker_start(learned, seeds, cfg["perturbation"]),
              "random": finetune.random_start(seeds, cfg["init"], cfg["init_scale"])}
    try:
        results = finetune.run_starts(starts, seeds, params["seed"], setup, learned)
    except Interrupted as exc:
        print(f"error: finetune: {exc}; metrics/finetune.json not written", file=sys.stderr)
        return exc.exit_code
    out = {}
    for name, res in results.items():
        k = sum(r["exact"] for r in res["runs"])
        out[name] = {"exact": wilson(k, len(seeds), cfg["alpha"]),
                     "returns_to_start": sum(r["returns_to_start"] for r in res["runs"]),
                     "fingerprint_matches": sum(r["fingerprint_matches"] for r in res["runs"]),
                     "seconds": res["seconds"], "seconds_per_run": res["seconds"] / len(seeds),
                     "runs": res["runs"]}
    write_json("metrics/finetune.json", clean({
        "seeds": seeds, "learned_exact": True,
        "learned_equivalent_to_strassen": equivalent_to_strassen(learned),
        "perturbation": cfg["perturbation"], "zero_shot": finetune.zero_shot(learned),
        "starts": out}))
    print("finetune: zero-shot exact; " + "; ".join(
        f"{n}: exact {r['exact']['successes']}/{len(seeds)}, {r['seconds']:.1f}s"
        for n, r in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
