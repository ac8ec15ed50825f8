"""Kappa's prospective test: does early-epoch kappa/trace predict a run's final success?

Cross-validated logistic regression (statsmodels Logit inside a seeded stratified k-fold) on
log10 kappa and log10 trace at one early checkpoint; out-of-fold accuracy (Wilson CI) and AUC
(Mann-Whitney U, percentile bootstrap CI by scipy.stats.bootstrap) beside the majority-class
baseline.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import DegenerateDataWarning, binomtest, bootstrap, mannwhitneyu

from bilinear.intervals import wilson
from bilinear.studies.stats import degenerate, fit_logit


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index (0..k-1) of every sample, each class spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        fold[rng.permutation(idx)] = np.arange(idx.size) % k
    return fold


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for y == 1 (Mann-Whitney U / (n1 * n0))."""
    pos, neg = score[y == 1], score[y == 0]
    return float(mannwhitneyu(pos, neg).statistic) / (pos.size * neg.size)


def bootstrap_auc(y: np.ndarray, score: np.ndarray, n_boot: int, seed: int,
                  alpha: float = 0.05) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of the AUC: scipy.stats.bootstrap resamples the (y, score)
    pairs; resamples with a single class (AUC undefined) are left out of the percentiles."""

    def statistic(yb: np.ndarray, sb: np.ndarray) -> float:
        return auc(yb, sb) if 0 < yb.sum() < yb.size else np.nan

    with warnings.catch_warnings():  # a single-class resample makes scipy's own interval nan
        warnings.simplefilter("ignore", DegenerateDataWarning)
        res = bootstrap((y, score), statistic, n_resamples=n_boot, paired=True,
                        vectorized=False, method="percentile", rng=np.random.default_rng(seed))
    values = res.bootstrap_distribution[np.isfinite(res.bootstrap_distribution)]
    if not values.size:
        return None, None
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def roc_points(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """ROC curve points (fpr, tpr) at every distinct threshold, from (0, 0) to (1, 1)."""
    order = np.argsort(-score, kind="stable")
    s, t = score[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    tp, fp = np.cumsum(t)[last], np.cumsum(1 - t)[last]
    tpr = np.r_[0.0, tp / max(t.sum(), 1)]
    fpr = np.r_[0.0, fp / max((1 - t).sum(), 1)]
    return pd.DataFrame({"fpr": fpr, "tpr": tpr})


def cross_validated_probs(y: np.ndarray, X: np.ndarray, k: int, seed: int) -> tuple:
    """Out-of-fold success probabilities and the problems met per fold.

    A separated fit still ranks its test runs (that is a strong prediction, not a failure); a fold
    whose fit raised or gave non-finite probabilities predicts its training base rate.
    """
    fold = stratified_folds(y, k, seed)
    probs = np.empty(y.size)
    problems = []
    for f in range(k):
        test, train = fold == f, fold != f
        res, problem = fit_logit(y[train], np.column_stack([np.ones(train.sum()), X[train]]))
        pred = (res.predict(np.column_stack([np.ones(test.sum()), X[test]]))
                if res is not None else np.array([np.nan]))
        if not np.isfinite(pred).all():
            pred, problem = y[train].mean(), problem or "non-finite probabilities"
        probs[test] = pred
        if problem:
            problems.append(f"fold {f}: {problem}")
    return probs, problems


def features(final: pd.DataFrame, epoch: str) -> pd.DataFrame:
    """log10 kappa and log10 trace at checkpoint ``epoch`` with the outcome (a column with no
    finite positive value is left out, then rows with a missing value are dropped)."""
    cols = [f"kappa_{epoch}", f"trace_{epoch}"]
    data = final[["run_id", "batch_size", "success"]].copy()
    for col in cols:
        values = (pd.to_numeric(final[col], errors="coerce") if col in final
                  else pd.Series(np.nan, index=final.index))
        data[f"log10_{col}"] = np.log10(values.where(values > 0))
    return data.dropna(axis=1, how="all").dropna().reset_index(drop=True)


def predict_success(final: pd.DataFrame, epoch: str, folds: int, seed: int, n_boot: int,
                    alpha: float = 0.05) -> tuple[dict, pd.DataFrame]:
    """Prospective test at one checkpoint: metrics dict and the runs' features with their
    out-of-fold predicted probability ``prob`` (NaN when the test is degenerate)."""
    data = features(final, epoch)
    y = data["success"].to_numpy(int)
    varying = [c for c in data.columns if c.startswith("log10_") and data[c].nunique() > 1]
    X = data[varying].to_numpy(float)
    base = {"n": int(y.size), "n_dropped": int(len(final) - y.size), "features": varying}
    minority = int(min(y.sum(), y.size - y.sum())) if y.size else 0
    if minority < 2 or not varying:
        reason = ("fewer than two runs in one outcome class" if minority < 2
                  else "kappa and trace are constant")
        return degenerate(reason, **base), data.assign(prob=np.nan)
    k = min(folds, minority)
    probs, problems = cross_validated_probs(y, X, k, seed)
    correct = int(((probs >= 0.5).astype(int) == y).sum())
    majority = max(y.mean(), 1 - y.mean())
    acc = wilson(correct, y.size, alpha)
    auc_low, auc_high = bootstrap_auc(y, probs, n_boot, seed + 1, alpha)
    kappa = f"log10_kappa_{epoch}"  # low kappa: the paper's "coherent" regime
    raw_auc = auc(y, -data[kappa].to_numpy(float)) if kappa in data else None
    out = {"degenerate": False, **base, "folds": k, "fold_problems": problems,
           "accuracy": acc["rate"], "accuracy_ci_low": acc["ci_low"],
           "accuracy_ci_high": acc["ci_high"],
           "p_vs_baseline": float(binomtest(correct, y.size, majority, "greater").pvalue),
           "auc": auc(y, probs), "auc_ci_low": auc_low, "auc_ci_high": auc_high,
           "auc_p": float(mannwhitneyu(probs[y == 1], probs[y == 0]).pvalue),
           "auc_raw_kappa": raw_auc,
           "baseline": wilson(int(round(majority * y.size)), y.size, alpha)}
    return out, data.assign(prob=probs)


def posthoc_kappa(final: pd.DataFrame) -> dict:
    """Final kappa of successful vs failed runs: medians, AUC of -log kappa, Mann-Whitney p."""
    data = features(final, "final")
    y = data["success"].to_numpy(int)
    base = {"n": int(y.size)}
    if "log10_kappa_final" not in data or y.min() == y.max():
        return degenerate("no finite kappa_final in one outcome class", **base)
    logk = data["log10_kappa_final"].to_numpy(float)
    return {"degenerate": False, **base,
            "median_kappa_success": float(10 ** np.median(logk[y == 1])),
            "median_kappa_failure": float(10 ** np.median(logk[y == 0])),
            "auc": auc(y, -logk), "p": float(mannwhitneyu(-logk[y == 1], -logk[y == 0]).pvalue)}


def kappa_prediction(final: pd.DataFrame, epochs: list, folds: int, seed: int, n_boot: int,
                     alpha: float = 0.05) -> tuple[dict, pd.DataFrame]:
    """Prospective test at every early checkpoint plus the post-hoc final-kappa comparison.

    Returns the metrics and a long table of out-of-fold predictions (column ``checkpoint``).
    """
    out, tables = {"headline": f"kappa_{epochs[0]}"}, []
    for i, epoch in enumerate(epochs):
        rec, preds = predict_success(final, str(epoch), folds, seed + 100 * i, n_boot, alpha)
        out[f"kappa_{epoch}"] = rec
        tables.append(preds.assign(checkpoint=f"kappa_{epoch}"))
    out["posthoc_final"] = posthoc_kappa(final)
    return out, pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
