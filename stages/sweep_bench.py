"""Stage `sweep_bench`: the batch-size study's benchmark (bilinear.studies.sweep_bench) ->
metrics/sweep_bench.json (wall-clock: NOT deterministic).
Usage: python -m stages.sweep_bench   (from the repository root; reads params.yaml)
Reads: params.yaml (seed, anneal, sweep, sweep_bench), data/sweep.
Writes: metrics/sweep_bench.json."""

from __future__ import annotations

import os
import sys

import torch
from threadpoolctl import threadpool_limits

from bilinear.io import write_json
from bilinear.params import Field, read_sections
from bilinear.stage import stage_main
from bilinear.studies.sweep_batch import read_params
from bilinear.studies.sweep_bench import full_study, machine, ratio

SPEC = {"sweep_bench": {"ratio_epochs": Field(int, low=1), "full_study": Field(bool)}}
OUT = "metrics/sweep_bench.json"


@stage_main
def main() -> int:
    """Write metrics/sweep_bench.json."""
    seed, cfg = read_params()
    bench = read_sections(SPEC)["sweep_bench"]
    torch.set_num_threads(1)
    info = machine()
    with threadpool_limits(1):
        ratios = ratio(seed, cfg, bench["ratio_epochs"])
    study = full_study(seed, cfg) if bench["full_study"] else None
    info["load_average_at_end"] = list(os.getloadavg())
    out = {"note": "wall-clock timings on the machine below: not deterministic",
           "machine": info, "batched_vs_serial": ratios, "full_study": study,
           "batched_vs_serial_ratio": ratios["ratio"],
           "batched_vs_serial_ratio_cpu": ratios["ratio_cpu"]}
    if study:
        out.update(full_study_train_s=study["train_s"],
                   full_study_crystallize_s=study["crystallize_s"],
                   full_study_total_s=study["total_s"])
    write_json(OUT, out)
    summary = (f"; full study: {study['runs']} runs, train {study['train_s']:.0f}s, crystallize "
               f"{study['crystallize_s']:.0f}s, total {study['total_s']:.0f}s" if study else "")
    print(f"sweep_bench: batched vs one at a time x{ratios['ratio']:.1f} (CPU time "
          f"x{ratios['ratio_cpu']:.1f}){summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
