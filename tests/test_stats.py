"""Statistics of the batch-size study on synthetic sweep rows, including degenerate data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from bilinear.intervals import wilson
from bilinear.studies import stats
from bilinear.studies.prediction import auc, roc_points, stratified_folds
from bilinear.studies.study import analyze
from tests.tiny_params import TINY, apply_overrides

PARAMS = {"alpha": 0.05, "kappa_percents": [5, 10], "cv_folds": 5, "n_bootstrap": 200}
EPOCHS = [100, 250, 500, 1000]


def synthetic_sweep(seed: int = 0, batches_a=(8, 16, 32, 64, 128),
                    batches_b=(8, 16, 24, 32, 48, 64, 96, 128), seeds: int = 5, replicas: int = 3,
                    p_success=None) -> pd.DataFrame:
    """Sweep rows shaped like data/sweep/B*.csv, success peaking near B = 48 and late epochs."""
    rng = np.random.default_rng(seed)
    if p_success is None:
        def p_success(b, frac):
            return frac * 0.85 * np.exp(-0.5 * ((np.log2(b) - np.log2(48)) / 1.2) ** 2)
    rows = []
    for protocol, batches in (("A", batches_a), ("B", batches_b)):
        for b in batches:
            for s in range(seeds):
                for r in range(replicas):
                    run_id = f"{protocol}-B{b}-s{s}-r{r}"
                    latent = rng.uniform()
                    kappa = 10 ** (2 + 2 * rng.uniform() + (latent < 0.5))
                    for method, shift in (("round", 0.15), ("sparsify", 0.0)):
                        for epoch in EPOCHS:
                            ok = latent + shift < p_success(b, epoch / EPOCHS[-1])
                            margin = rng.uniform(0, 0.05) if ok else rng.uniform(0.1, 0.5)
                            rows.append({
                                "protocol": protocol, "batch_size": b, "seed": s, "replica": r,
                                "run_id": run_id, "method": method, "epoch": epoch,
                                "final": epoch == EPOCHS[-1], "train_loss": 1e-3,
                                "test_loss": 1e-3, "grokking_epoch": "", "margin": margin,
                                "exact": ok, "expansion_success": ok, "nonzeros": 36,
                                "equivalent_to_strassen": ok, "kappa_5": kappa,
                                "trace_5": 10 ** rng.normal(), "kappa_10": kappa * 0.9,
                                "trace_10": 10 ** rng.normal(), "kappa_25": "",
                                "trace_25": "", "kappa_final": 1.0 if ok else kappa * 10,
                                "trace_final": 1.0, "degenerate_final": False})
    return pd.DataFrame(rows)


def _roundtrip(df: pd.DataFrame, tmp_path) -> pd.DataFrame:
    """Rows as read back from CSV (booleans and empty cells as the stage sees them)."""
    path = tmp_path / "rows.csv"
    df.to_csv(path, index=False)
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def study():
    return analyze(synthetic_sweep(), PARAMS, seed=0)


def test_full_study_keys_and_effect(study):
    metrics, tables = study
    assert metrics["study"]["n_runs"] == 195
    for method in ("round", "sparsify"):
        m = metrics[method]
        for key in ("protocol_a_margin", "protocol_b_success", "two_way"):
            assert {"F", "p", "eta_sq", "df"} <= set(m[key])
        assert m["protocol_b_success"]["df"] == [7, 112]
        assert m["protocol_a_margin"]["df"] == [4, 70]
        assert m["two_way"]["df"] == [7, 186] and m["two_way"]["protocol"]["df"] == [1, 186]
        paired_a, paired_b = m["protocol_a_margin_paired"], m["protocol_b_success_paired"]
        assert paired_a["df"] == [4, 66] and paired_a["seed"]["df"] == [4, 66]
        assert paired_b["df"] == [7, 108] and paired_b["seed"]["df"] == [4, 108]
        assert m["protocol_b_success"]["p"] < 0.01 and 0 < m["protocol_b_success"]["eta_sq"] < 1
        assert m["overall"]["n"] == 195
        assert m["strassen_equivalent"]["successes"] == m["overall"]["successes"]
        assert m["kappa_prediction"]["headline"] == "kappa_5"
        assert set(m["success_rate"]) == {"8", "16", "24", "32", "48", "64", "96", "128"}
        for rec in m["success_rate"].values():
            assert rec["ci_low"] <= rec["rate"] <= rec["ci_high"]
        assert len(m["protocol_b_success"]["tukey"]) == 28
        assert m["logit"]["quadratic"]["coef"]["log2_batch_sq"] < 0  # an optimal range
        assert 24 <= m["best_range"]["best"] <= 96
        tukey_range = m["best_range_tukey"]
        assert tukey_range["best"] in tukey_range["members"] and 8 not in tukey_range["members"]
        kp = m["kappa_prediction"]["kappa_5"]
        assert 0 <= kp["accuracy"] <= 1 and kp["auc_ci_low"] <= kp["auc"] <= kp["auc_ci_high"]
        assert m["kappa_prediction"]["kappa_10"]["n"] == 195
    json.dumps(metrics, allow_nan=False)
    assert list(tables["phase_diagram"].columns[:3]) == ["method", "batch_size", "epoch"]
    assert len(tables["phase_diagram"]) == 2 * 8 * len(EPOCHS)


def test_success_needs_expansion_unless_not_evaluated(tmp_path):
    rows = synthetic_sweep(batches_a=(32,), batches_b=(32,), seeds=1, replicas=2)
    rows["exact"] = True
    rows["expansion_success"] = np.where(rows["protocol"] == "A", None, False)
    df = stats.prepare(_roundtrip(rows, tmp_path))
    assert df.groupby("protocol")["success"].mean().to_dict() == {"A": 1.0, "B": 0.0}
    metrics, _ = analyze(rows, PARAMS, seed=0)
    assert metrics["study"]["n_final_expansion_unknown"] == 4


def test_anova_matches_scipy_oneway():
    from scipy.stats import f_oneway

    df = stats.prepare(synthetic_sweep(seed=3))
    a = df[df.final & (df.method == "sparsify") & (df.protocol == "A")]
    rec = stats.oneway(a, "margin")
    ref = f_oneway(*[g["margin"].to_numpy() for _, g in a.groupby("batch_size")])
    assert rec["F"] == pytest.approx(ref.statistic) and rec["p"] == pytest.approx(ref.pvalue)


def test_seed_blocks_remove_between_seed_variance():
    df = stats.prepare(synthetic_sweep(seed=3))
    a = df[df.final & (df.method == "sparsify") & (df.protocol == "A")].copy()
    a["margin"] = 0.01 * a["batch_size"].rank(method="dense") + a["seed"] + \
        np.random.default_rng(0).normal(0, 0.01, len(a))  # a small effect, big seed offsets
    oneway, paired = stats.oneway(a, "margin"), stats.anova(a, "margin", ["batch_size", "seed"])
    assert oneway["p"] > 0.5 and paired["p"] < 1e-6  # the seed offsets hide the effect unpaired
    assert paired["seed"]["eta_sq"] > 0.9


def test_deterministic_and_csv_roundtrip(tmp_path):
    rows = synthetic_sweep(batches_a=(16, 32), batches_b=(16, 32, 64), seeds=3)
    first = analyze(rows, PARAMS, seed=0)[0]
    again = analyze(_roundtrip(rows, tmp_path), PARAMS, seed=0)[0]
    assert json.dumps(again, sort_keys=True) == json.dumps(first, sort_keys=True)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_all_same_outcome_is_degenerate(value, tmp_path):
    rows = synthetic_sweep(seeds=2, replicas=2, p_success=lambda b, f: value)
    metrics, _ = analyze(_roundtrip(rows, tmp_path), PARAMS, seed=0)
    m = metrics["sparsify"]
    assert m["protocol_b_success"]["degenerate"] and m["protocol_b_success"]["F"] is None
    assert m["logit"]["degenerate"] and m["logit"]["reason"] == "all outcomes equal"
    assert m["kappa_prediction"]["kappa_5"]["degenerate"]
    assert m["overall"]["rate"] == value
    assert m["best_range"]["degenerate"] == (value == 0.0)
    json.dumps(metrics, allow_nan=False)


def test_perfect_separation_is_degenerate():
    rows = synthetic_sweep(batches_a=(16, 64), batches_b=(16, 32, 64), seeds=2, replicas=2,
                           p_success=lambda b, f: float(b >= 32))
    metrics, _ = analyze(rows, PARAMS, seed=0)
    m = metrics["sparsify"]
    assert m["logit"]["linear"]["degenerate"]
    assert "separation" in m["logit"]["linear"]["reason"]
    assert m["protocol_b_success"]["degenerate"] and m["protocol_b_success"]["eta_sq"] == 1.0


@pytest.mark.parametrize("kappa_5_missing", ["some", "all"])
def test_single_batch_size_and_nan_kappas(tmp_path, kappa_5_missing):
    from bilinear.report import study_plots

    rows = synthetic_sweep(batches_a=(32,), batches_b=(32,))
    rows.loc[rows["seed"] < (2 if kappa_5_missing == "some" else 99), "kappa_5"] = np.nan
    rows["trace_10"] = np.nan
    rows["kappa_final"] = np.nan
    metrics, tables = analyze(_roundtrip(rows, tmp_path), PARAMS, seed=0)
    study_plots.kappa_prediction(tables["predictions"], tables["roc"], metrics, "kappa_5")
    study_plots.batch_effect(tables["batch_effect"], tables["final"], metrics)
    if kappa_5_missing == "all":
        assert metrics["round"]["kappa_prediction"]["kappa_5"]["features"] == ["log10_trace_5"]
        return
    m = metrics["round"]
    assert m["protocol_a_margin"]["degenerate"] and m["protocol_a_margin"]["tukey"] == []
    assert m["logit"]["reason"] in ("a single batch size", "all outcomes equal")
    assert m["kappa_prediction"]["kappa_5"]["n_dropped"] == 12
    assert m["kappa_prediction"]["kappa_10"]["n_dropped"] == 0
    assert m["kappa_prediction"]["kappa_10"]["features"] == ["log10_kappa_10"]
    assert m["kappa_prediction"]["posthoc_final"]["degenerate"]
    assert list(tables["batch_effect"]["batch_size"]) == [32]
    assert m["best_range"]["reason"] == "fewer than two batch sizes"
    json.dumps(metrics, allow_nan=False)


def test_best_range_rule():
    rates = {"8": wilson(0, 15), "32": wilson(12, 15), "64": wilson(10, 15),
             "128": wilson(2, 15)}
    rec = stats.best_range(rates)
    assert rec["best"] == 32 and rec["members"] == [32, 64] and rec["contiguous"]


def test_folds_auc_and_roc():
    y = np.array([0] * 7 + [1] * 5)
    fold = stratified_folds(y, 3, seed=0)
    assert all(np.sum((fold == f) & (y == 1)) in (1, 2) for f in range(3))
    assert np.array_equal(fold, stratified_folds(y, 3, seed=0))
    score = np.arange(12.0)
    assert auc(y, score) == 1.0 and auc(y, -score) == 0.0
    roc = roc_points(y, score)
    assert roc.iloc[0].tolist() == [0.0, 0.0] and roc.iloc[-1].tolist() == [1.0, 1.0]


def test_clean_removes_nan():
    assert stats.clean({"a": np.nan, "b": [np.float64(1 / 3)], "c": np.int64(2)}) == {
        "a": None, "b": [0.3333333333], "c": 2}


def _stage_dir(tmp_path, monkeypatch, rows: pd.DataFrame | None) -> None:
    """A working directory with params.yaml (the project's anova section) and sweep CSVs."""
    from tests.project_copy import ROOT

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    tiny = apply_overrides(params, {"anova": TINY["anova"]})
    batches = sorted(rows["batch_size"].unique().tolist()) if rows is not None else [8]
    tiny["sweep"]["batch_sizes"] = {f"B{b}": ["A"] for b in batches}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny))
    (tmp_path / "data" / "sweep").mkdir(parents=True)
    for batch, group in (rows.groupby("batch_size") if rows is not None else []):
        group.to_csv(tmp_path / "data" / "sweep" / f"B{batch}.csv", index=False)
    monkeypatch.chdir(tmp_path)


def test_stage_writes_every_output(tmp_path, monkeypatch, capsys):
    from matplotlib.image import imread

    from stages import anova

    rows = synthetic_sweep(batches_a=(8, 32), batches_b=(8, 32), seeds=2, replicas=1)
    _stage_dir(tmp_path, monkeypatch, rows)
    rows.iloc[:1].to_csv(tmp_path / "data" / "sweep" / "B999.csv", index=False)  # not in the study
    assert anova.main() == 0
    assert capsys.readouterr().out.startswith("anova: 8 runs;")
    metrics = json.loads((tmp_path / "metrics" / "anova.json").read_text())
    assert {"round", "sparsify", "study"} <= set(metrics)
    for name in ("batch_effect", "phase_diagram", "kappa_prediction"):
        assert len(pd.read_csv(tmp_path / "plots" / f"{name}.csv")) >= 2
        assert imread(tmp_path / "plots" / f"{name}.png").shape[0] > 100


def test_stage_errors_are_one_line(tmp_path, monkeypatch, capsys):
    from stages import anova

    _stage_dir(tmp_path, monkeypatch, None)
    assert anova.main() == 2
    assert capsys.readouterr().err.startswith("error: data/sweep/B8.csv missing")
    pd.DataFrame({"protocol": ["A"], "batch_size": [8]}).to_csv(
        tmp_path / "data" / "sweep" / "B8.csv", index=False)
    assert anova.main() == 2
    assert "lacks column(s)" in capsys.readouterr().err
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["anova"]["cv_folds"] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert anova.main() == 2
    assert "anova.cv_folds" in capsys.readouterr().err
    params["anova"]["cv_folds"] = 3
    params["sweep"]["run"]["kappa_percents"] = [5, 500]  # anova's checkpoints are the sweep's
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert anova.main() == 2
    assert capsys.readouterr().err.startswith("error: sweep.run.kappa_percents[1]: expected a")


def test_png_bytes_are_deterministic(study):
    from bilinear.report.figures import png_bytes
    from bilinear.report.study_plots import phase_diagram

    table = study[1]["phase_diagram"]
    assert png_bytes(phase_diagram(table, [0.5])) == png_bytes(phase_diagram(table, [0.5]))


def test_separating_kappa_predicts_perfectly():
    rows = stats.prepare(synthetic_sweep(batches_a=(32,), batches_b=(16, 32, 64), seeds=4))
    final = rows[rows.final & (rows.method == "sparsify")].copy()
    final["kappa_5"] = np.where(final["success"] == 1, 1.0, 1e4) * (1 + final.index % 7)
    final["trace_5"] = 1.0  # constant: collinear with the intercept
    from bilinear.studies.prediction import predict_success

    rec, preds = predict_success(final, "5", folds=3, seed=0, n_boot=50)
    assert not rec["degenerate"] and rec["auc"] == 1.0 and rec["accuracy"] == 1.0
    assert rec["features"] == ["log10_kappa_5"] and len(preds) == len(final)
    assert all("separation" in p for p in rec["fold_problems"])


@pytest.mark.parametrize("edit, message", [
    (lambda t: t[:-1] + ",x\n", "data row 1 has 11 fields, the header 10"),
    (lambda t: t[:-5], "ends inside a row"),
    (lambda t: t.split("\n")[0] + "\n", "no rows"),
])
def test_sweep_tables_are_checked_before_the_statistics(tmp_path, edit, message):
    from bilinear.studies.sweep_table import read_tables
    rows = pd.DataFrame({c: [1] for c in stats.REQUIRED} | {
        "protocol": ["A"], "run_id": ["r0"], "method": ["round"], "final": [True],
        "exact": [False], "expansion_success": [""], "equivalent_to_strassen": [False]})
    good = tmp_path / "B1.csv"
    rows.to_csv(good, index=False)
    assert len(read_tables([good])) == 1
    bad = tmp_path / "B2.csv"
    bad.write_text(edit(good.read_text()))
    with pytest.raises(stats.SweepFormatError, match=f"B2.csv: .*{message}"):
        read_tables([good, bad])
    rows["epoch"] = [0.5]  # not a whole epoch: named with its column and row
    rows.to_csv(bad, index=False)
    with pytest.raises(stats.SweepFormatError, match="column epoch, data row 1: '0.5' is not a "
                       "positive whole number"):
        read_tables([bad])
