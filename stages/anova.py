"""anova stage: the statistics of the batch-size study from data/sweep/B*.csv.

Writes metrics/anova.json and plots/{batch_effect,phase_diagram,kappa_prediction}.{csv,png}.
Reads: params.yaml (seed, anova, sweep.batch_sizes, sweep.run.kappa_percents), data/sweep. Writes:
plots/batch_effect.csv, plots/batch_effect.png, plots/phase_diagram.csv, plots/phase_diagram.png,
plots/kappa_prediction.csv, plots/kappa_prediction.png, metrics/anova.json."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from bilinear import params as blocks
from bilinear.checks import Outputs
from bilinear.params import Field, ParamError, load_params, read_sections, validate
from bilinear.report import study_plots
from bilinear.report.figures import png_bytes
from bilinear.seeds import ANOVA
from bilinear.stage import stage_main
from bilinear.studies.batch_keys import batch_of, is_batch_key
from bilinear.studies.stats import SweepFormatError
from bilinear.studies.study import analyze
from bilinear.studies.sweep_table import read_tables

SPEC = {
    "seed": blocks.SEED,
    "anova": {
        "alpha": blocks.ALPHA,
        "cv_folds": Field(int, 2, 50),
        "n_bootstrap": Field(int, 1, 100_000),
        "contours": Field(list, 0.0, 1.0, item=float, min_len=1),
    },
}
BATCH_SIZES = Field(dict)  # sweep.batch_sizes: its keys B<size> name the files to read
SWEEP = Path("data/sweep")


def read_sweep(keys, folder: Path = SWEEP) -> pd.DataFrame:
    """Concatenate <key>.csv for the study's batch sizes (the keys B<size> of params
    sweep.batch_sizes) in order of size, each checked (bilinear.studies.sweep_table); files
    of other batch sizes (left from an earlier study) are not read."""
    bad = [k for k in keys if not is_batch_key(k)]
    if bad or not keys:
        raise ParamError(f"sweep.batch_sizes: expected keys B<size>, e.g. B32, got {list(keys)}")
    files = [folder / f"{k}.csv" for k in sorted(set(keys), key=batch_of)]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} missing (run the sweep stages first)")
    return read_tables(files)


def _csv(out: Outputs, path: str, table: pd.DataFrame) -> None:
    out.add_text(path, table.to_csv(index=False, float_format="%.6g", lineterminator="\n"))


@stage_main
def main() -> int:
    """Run the study's statistics and write metrics, plot data and figures."""
    try:
        params = read_sections(SPEC)
        sweep = load_params().get("sweep", {})
        batch_sizes = validate("sweep.batch_sizes", sweep.get("batch_sizes"), BATCH_SIZES)
        percents = validate("sweep.run.kappa_percents", (sweep.get("run") or {}).get(
            "kappa_percents"), blocks.KAPPA_PERCENTS)
        cfg = {**params["anova"], "kappa_percents": percents}  # the sweep's kappa checkpoints
        metrics, tables = analyze(read_sweep(list(batch_sizes)), cfg, params["seed"] + ANOVA)
    except (FileNotFoundError, SweepFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Outputs()
    out.add_json("metrics/anova.json", metrics, "the study's statistics")
    chance = pd.DataFrame({"series": "chance", "fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    _csv(out, "plots/batch_effect.csv", tables["batch_effect"])
    _csv(out, "plots/phase_diagram.csv", tables["phase_diagram"])
    _csv(out, "plots/kappa_prediction.csv", pd.concat([chance, tables["roc"]], ignore_index=True))
    final = tables["final"]
    figures = {
        "batch_effect": study_plots.batch_effect(tables["batch_effect"], final, metrics),
        "phase_diagram": study_plots.phase_diagram(tables["phase_diagram"], cfg["contours"]),
        "kappa_prediction": study_plots.kappa_prediction(
            tables["predictions"], tables["roc"], metrics, f"kappa_{percents[0]}"),
    }
    for name, fig in figures.items():
        out.add_bytes(f"plots/{name}.png", png_bytes(fig))
    out.commit()
    parts = [f"{m}: {metrics[m]['overall']['successes']}/{metrics[m]['overall']['n']} succeed, "
             f"protocol B F={_fmt(metrics[m]['protocol_b_success']['F'])}"
             for m in metrics["study"]["methods"]]
    print(f"anova: {metrics['study']['n_runs']} runs; " + "; ".join(parts))
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
