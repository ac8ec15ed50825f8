"""The batch-size study as one analysis: every statistic per crystallization method, and the
tables behind its figures (batch effect, phase diagram, kappa prediction)."""

from __future__ import annotations

import pandas as pd

from bilinear.intervals import wilson
from bilinear.studies import stats
from bilinear.studies.prediction import kappa_prediction, roc_points

SUCCESS = ("exact and expansion_success (learned coefficients only, no fallback); exact alone "
           "where the expansion was not evaluated")


def method_metrics(df: pd.DataFrame, params: dict, seed: int) -> tuple[dict, pd.DataFrame]:
    """All statistics of one method's rows, and its out-of-fold kappa predictions."""
    alpha = params["alpha"]
    final = df[df["final"]]
    prot_a, prot_b = final[final["protocol"] == "A"], final[final["protocol"] == "B"]
    rates = stats.success_rates(final, alpha=alpha)
    strassen = final["success"].astype(bool) & final["equivalent_to_strassen"]
    prot_b_success = stats.oneway(prot_b, "success", alpha)
    kappa, preds = kappa_prediction(final, params["kappa_percents"], params["cv_folds"], seed,
                                    params["n_bootstrap"], alpha)
    out = {
        "protocol_a_margin": stats.oneway(prot_a, "margin", alpha),
        "protocol_a_success": stats.oneway(prot_a, "success", alpha),
        "protocol_b_success": prot_b_success,
        # a seed fixes data and initialisation at every batch size: seed as a block factor
        "protocol_a_margin_paired": stats.anova(prot_a, "margin", ["batch_size", "seed"]),
        "protocol_b_success_paired": stats.anova(prot_b, "success", ["batch_size", "seed"]),
        "two_way": stats.anova(final, "success", ["batch_size", "protocol"]),
        "logit": stats.logit_trend(final),
        "success_rate": rates,
        "success_rate_by_protocol": {p: stats.success_rates(g, alpha=alpha)
                                     for p, g in final.groupby("protocol", sort=True)},
        "overall": wilson(int(final["success"].sum()), len(final), alpha),
        "strassen_equivalent": wilson(int(strassen.sum()), len(final), alpha),
        "exact_only": wilson(int(final["exact"].sum()), len(final), alpha),
        "best_range": stats.best_range(rates),
        "best_range_tukey": stats.tukey_range(prot_b_success["tukey"],
                                              stats.success_rates(prot_b, alpha=alpha)),
        "kappa_prediction": kappa,
    }
    return out, preds


def batch_effect_table(df: pd.DataFrame, metrics: dict) -> pd.DataFrame:
    """One row per batch size: success rate, Wilson CI, n and mean final margin per method."""
    final = df[df["final"]]
    table = pd.DataFrame({"batch_size": sorted(final["batch_size"].unique())})
    for method in sorted(final["method"].unique()):
        rates = metrics[method]["success_rate"]
        margin = final[final["method"] == method].groupby("batch_size")["margin"].mean()
        for key in ("rate", "ci_low", "ci_high", "n"):
            table[f"{key}_{method}"] = [rates.get(str(b), {}).get(key) for b in table.batch_size]
        table[f"mean_margin_{method}"] = [margin.get(b) for b in table.batch_size]
    return table


def roc_table(preds: pd.DataFrame) -> pd.DataFrame:
    """ROC points of every method and checkpoint's out-of-fold predictions (column ``series``)."""
    parts = []
    for (method, checkpoint), group in preds.groupby(["method", "checkpoint"], sort=True):
        if group["success"].nunique() == 2 and group["prob"].notna().all():
            roc = roc_points(group["success"].to_numpy(int), group["prob"].to_numpy(float))
            parts.append(roc.assign(series=f"{method} {checkpoint}"))
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=["fpr", "tpr", "series"]))[["series", "fpr", "tpr"]]


def analyze(rows: pd.DataFrame, params: dict, seed: int) -> tuple[dict, dict]:
    """Run the study's statistics on raw sweep rows.

    Returns (metrics, tables): metrics keyed by method (plus ``study``); tables ``batch_effect``,
    ``phase_diagram``, ``predictions`` (out-of-fold), ``roc`` and ``final`` (prepared final rows).
    """
    df = stats.prepare(rows)
    final = df[df["final"]]
    metrics = {"study": {"success": SUCCESS, "n_runs": int(final["run_id"].nunique()),
                         "n_rows_final": len(final),
                         "n_final_expansion_unknown": int(final["expansion_unknown"].sum()),
                         "methods": sorted(df["method"].unique()),
                         "batch_sizes": sorted(int(b) for b in df["batch_size"].unique()),
                         "epochs": sorted(int(e) for e in df["epoch"].unique())}}
    preds = []
    for i, method in enumerate(metrics["study"]["methods"]):
        metrics[method], p = method_metrics(df[df["method"] == method], params, seed + 1000 * i)
        preds.append(p.assign(method=method))
    preds = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame(
        columns=["method", "checkpoint", "success", "prob"])
    tables = {"batch_effect": batch_effect_table(df, metrics),
              "phase_diagram": stats.phase_table(df, params["alpha"]),
              "predictions": preds, "roc": roc_table(preds), "final": final}
    return stats.clean(metrics), tables
