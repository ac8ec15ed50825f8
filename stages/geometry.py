"""Stage `geometry`: the batch-size study's runs retrained with their seeds, read at matched
checkpoints (equal epochs, equal steps): the exact Hessian of the training loss (does
kappa_eff = -tr(H)/d predict crystallization?) and the full per-sample gradient covariance
spectrum per batch size (is the condition number more stable inside [24, 128], does it correlate
with success?); one run's weights along the paper's recipe and anneal.
-> metrics/curvature.json, metrics/gradient_geometry.json, plots/geometry_runs.csv,
   plots/gradient_spectra.png, plots/weight_geometry.png
Reads: params.yaml (seed, anneal, sweep.protocols, sweep.run, sweep.batch_sizes, geometry),
data/sweep. Writes: metrics/curvature.json, metrics/gradient_geometry.json,
plots/geometry_runs.csv, plots/gradient_spectra.png, plots/weight_geometry.png."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from bilinear import params as blocks
from bilinear.io import LoadError, atomic_write_bytes, atomic_write_text, write_json
from bilinear.learn.crystal import round_clamp
from bilinear.params import Field, ParamError, read_sections
from bilinear.report.geometry_plots import spectra_figure, weights_figure
from bilinear.seeds import CURVATURE
from bilinear.stage import stage_main
from bilinear.studies import geometry_study as study
from bilinear.studies.batch_keys import batch_key
from bilinear.studies.stats import clean, prepare
from bilinear.studies.sweep_batch import read_params

SPEC = {"geometry": {
    "percents": Field(list, item=int, low=1, high=100, min_len=1),
    "methods": Field(list, item=str, min_len=1),
    "cv_folds": Field(int, low=2, high=50),
    "n_bootstrap": Field(int, low=1, high=100_000),
    "alpha": blocks.ALPHA,
    "figure_run": Field(str),
    "trajectory_every": Field(int, low=1),
}}
METHODS = ("round", "sparsify", "anneal", "anneal_equal_steps")


def read_geometry() -> tuple[int, dict, dict]:
    """(master seed, sweep settings, validated `geometry`), cross-checked."""
    cfg = read_sections(SPEC)["geometry"]
    seed, sweep = read_params()
    bad = [m for m in cfg["methods"] if m not in METHODS]
    if bad or len(set(cfg["methods"])) != len(cfg["methods"]):
        raise ParamError(f"geometry.methods: distinct items of {list(METHODS)}, got "
                         f"{cfg['methods']}")
    if cfg["trajectory_every"] > sweep["epochs"]:
        raise ParamError(f"geometry.trajectory_every: exceeds sweep.run.epochs {sweep['epochs']}")
    return seed, sweep, cfg


def read_tables(batches) -> dict[int, pd.DataFrame]:
    """The sweep's rows per batch size (studies.stats.prepare), every file present."""
    paths = {b: Path("data/sweep") / f"{batch_key(b)}.csv" for b in batches}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise LoadError(f"{', '.join(missing)} missing (run the sweep stages first)")
    return {b: prepare(pd.read_csv(p)) for b, p in paths.items()}


@stage_main
def main() -> int:
    """Retrain, measure, analyse; write metrics and figures."""
    seed, sweep, cfg = read_geometry()
    tables = read_tables(sweep["batch_sizes"])
    if not any((t["run_id"] == cfg["figure_run"]).any() for t in tables.values()):
        raise ParamError(f"geometry.figure_run: {cfg['figure_run']!r} is not a run of the sweep")
    torch.set_num_threads(1)
    reference = sweep["anneal"]["steps_reference_batch"]
    with threadpool_limits(1):
        measured = study.measure(sweep, seed, cfg["percents"], reference, cfg["figure_run"],
                                 cfg["trajectory_every"], tables)
        final = max(measured.trajectory)
        path, keep = study.anneal_path(measured.trajectory[final], sweep, sweep["anneal"],
                                       measured.figure)
    success = study.outcomes(pd.concat(tables.values()), cfg["methods"])
    args = (cfg["cv_folds"], seed + CURVATURE, cfg["n_bootstrap"], cfg["alpha"])
    epochs = sorted(measured.trajectory)
    head = f"e{cfg['percents'][0]}"
    common = {"runs": int(measured.rows["run_id"].nunique()), "methods": cfg["methods"],
              "retrained_vs_sweep_max_rel_diff": measured.agreement,
              "headline": {"equal_epochs": head, "equal_steps": f"s{cfg['percents'][0]}"},
              "reference_batch": reference}
    write_json("metrics/curvature.json", clean({**common, "checkpoints": study.curvature_metrics(
        measured, success, cfg["methods"], *args)}))
    figure = {"run": cfg["figure_run"], **{f"margin_{k}": float(np.abs(v - round_clamp(v)).max())
                                           for k, v in (("recipe", path["pruned"]),
                                                        ("anneal", path["after penalty"]))}}
    write_json("metrics/gradient_geometry.json", clean({**common, "figure": figure,
               "checkpoints": study.geometry_metrics(measured, success, cfg["methods"])}))
    atomic_write_text("plots/geometry_runs.csv", measured.rows.to_csv(
        index=False, float_format="%.6g", lineterminator="\n"))
    titles = {head: f"equal epochs: {cfg['percents'][0]}% of training",
              f"s{cfg['percents'][0]}": f"equal steps: those of B={reference} at "
                                        f"{cfg['percents'][0]}%", "final": "end of training"}
    atomic_write_bytes("plots/gradient_spectra.png", spectra_figure(measured.spectra, titles))
    layout = study.Layout(tuple(sweep["format"]), sweep["slots"])
    shown = [0, epochs[len(epochs) // 10], epochs[len(epochs) // 4], final]
    trail = study.kept_coordinates(np.stack([measured.trajectory[e] for e in epochs]), layout,
                                   keep)
    paper = {f"epoch {e}": measured.trajectory[e] for e in shown}
    paper["pruned, rounded (Q)"] = round_clamp(path["pruned"])
    anneal = {k: v for k, v in path.items() if k != "pruned"}
    atomic_write_bytes("plots/weight_geometry.png", weights_figure(
        paper, anneal, trail, epochs, np.stack([path[k] for k in ("after fit", "after L1",
                                                                  "after penalty")])))
    print(f"geometry: {common['runs']} runs retrained (max relative difference from the sweep "
          f"{measured.agreement:.2g}), {measured.rows['checkpoint'].nunique()} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
