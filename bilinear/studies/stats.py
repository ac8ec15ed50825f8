"""Statistics of the batch-size study: ANOVA, Tukey HSD, logistic trend, Wilson success rates.

Every function takes a pandas DataFrame of sweep rows (see :func:`prepare`) and returns plain
dicts or DataFrames. Degenerate data (one group, no variance, one outcome class, perfect
separation) is reported as ``{"degenerate": True, "reason": ...}`` with null statistics, never
raised. Heavy lifting is statsmodels' (ols + anova_lm, pairwise_tukeyhsd, Logit,
bilinear.intervals.wilson: statsmodels' proportion_confint).

"Success" of a row is ``exact and expansion_success`` (an exact scheme that also expands correctly);
a row whose expansion was not evaluated (empty cell) counts as ``exact`` and is flagged in
``expansion_unknown``. Fallbacks are never rows of the sweep, so they never count.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multicomp import pairwise_tukeyhsd
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from bilinear.intervals import wilson

REQUIRED = ["protocol", "batch_size", "run_id", "method", "epoch", "final", "margin", "exact",
            "expansion_success", "equivalent_to_strassen"]
BOOLS = ["final", "exact", "expansion_success", "equivalent_to_strassen"]
RELATIVE_TOL = 1e-10  # a sum of squares below this fraction of the total counts as zero
NO_TEST = {"F": None, "p": None, "eta_sq": None, "df": None}


class SweepFormatError(ValueError):
    """Sweep rows that lack a required column."""


def _to_bool(col: pd.Series) -> pd.Series:
    """Parse a CSV boolean column (True/False, 1/0, empty = False)."""
    text = col.astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "1.0"])


def prepare(rows: pd.DataFrame) -> pd.DataFrame:
    """Check the sweep columns, coerce their types, add ``success`` and sort deterministically."""
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise SweepFormatError(f"sweep rows lack column(s) {missing}")
    df = rows.copy()
    df["expansion_unknown"] = df["expansion_success"].isna() | (
        df["expansion_success"].astype(str).str.strip() == "")
    for col in BOOLS:
        df[col] = _to_bool(df[col])
    df["batch_size"] = pd.to_numeric(df["batch_size"]).astype(int)
    df["epoch"] = pd.to_numeric(df["epoch"]).astype(int)
    df["margin"] = pd.to_numeric(df["margin"], errors="coerce")
    df["protocol"] = df["protocol"].astype(str)
    df["method"] = df["method"].astype(str)
    df["run_id"] = df["run_id"].astype(str)
    expands = df["expansion_success"] | df["expansion_unknown"]
    df["success"] = (df["exact"] & expands).astype(float)
    return df.sort_values(["method", "protocol", "batch_size", "run_id", "epoch"],
                          kind="stable").reset_index(drop=True)


def degenerate(reason: str, **extra) -> dict:
    """The record of an analysis that could not be run on these data."""
    return {"degenerate": True, "reason": reason, **extra}


def success_rates(df: pd.DataFrame, by: str = "batch_size", alpha: float = 0.05) -> dict:
    """Wilson success rate per value of column ``by`` (keys are strings, sorted by value)."""
    out = {}
    for key, group in df.groupby(by, sort=True):
        out[str(key)] = wilson(int(group["success"].sum()), len(group), alpha)
    return out


def best_range(rates: dict) -> dict:
    """Batch sizes whose Wilson interval overlaps that of the best rate.

    The best batch size has the highest rate (ties: the smallest). A batch size belongs to the
    best range when its upper bound reaches the best one's lower bound.
    """
    valid = {int(k): v for k, v in rates.items() if v["rate"] is not None}
    rule = "Wilson CI upper bound >= lower bound of the best batch size's CI"
    if len(valid) < 2:
        return degenerate("fewer than two batch sizes", rule=rule)
    if max(v["rate"] for v in valid.values()) == 0:
        return degenerate("no successes at any batch size", rule=rule)
    best = max(sorted(valid), key=lambda b: valid[b]["rate"])
    members = [b for b in sorted(valid) if valid[b]["ci_high"] >= valid[best]["ci_low"]]
    order = sorted(valid)
    span = order[order.index(members[0]):order.index(members[-1]) + 1]
    return {"degenerate": False, "best": best, "members": members, "low": members[0],
            "high": members[-1], "contiguous": span == members, "rule": rule}


def tukey_range(pairs: list[dict], rates: dict) -> dict:
    """Batch sizes that Tukey HSD does not separate from the best one (highest rate in ``rates``,
    ties: the smallest)."""
    rule = "Tukey HSD: not significantly different from the best batch size"
    valid = {int(k): v["rate"] for k, v in rates.items() if v["rate"] is not None}
    if not pairs or max(valid.values()) == 0:
        return degenerate("no Tukey comparisons or no successes", rule=rule)
    best = max(sorted(valid), key=valid.get)
    members = {best} | {p["group2"] if p["group1"] == best else p["group1"] for p in pairs
                        if best in (p["group1"], p["group2"]) and not p["reject"]}
    return {"degenerate": False, "best": best, "members": sorted(members), "rule": rule}


def _anova_record(table: pd.DataFrame, term: str, ss_total: float) -> dict:
    """F, p, eta^2 and partial eta^2 of one term of an anova_lm table."""
    ss, dof = float(table.loc[term, "sum_sq"]), int(table.loc[term, "df"])
    ss_res = float(table.loc["Residual", "sum_sq"])
    return {"F": float(table.loc[term, "F"]), "p": float(table.loc[term, "PR(>F)"]),
            "eta_sq": ss / ss_total, "partial_eta_sq": ss / (ss + ss_res),
            "df": [dof, int(table.loc["Residual", "df"])], "ss": ss}


def anova(df: pd.DataFrame, outcome: str, terms: list[str]) -> dict:
    """Type-II ANOVA of ``outcome`` on categorical ``terms``; first term's record at top level."""
    data = df[[outcome, *terms]].dropna()
    n = len(data)
    small = [t for t in terms if data[t].nunique() < 2]
    if small:
        return degenerate(f"fewer than two levels of {small[0]}", n=n, **NO_TEST)
    n_params = 1 + sum(data[t].nunique() - 1 for t in terms)
    if n <= n_params:
        return degenerate("no residual degrees of freedom", n=n, **NO_TEST)
    y = data[outcome].to_numpy(float)
    ss_total = float(((y - y.mean()) ** 2).sum())
    if ss_total <= RELATIVE_TOL * max(1.0, float((y**2).sum())):
        return degenerate("outcome is constant", n=n, **NO_TEST)
    formula = f"{outcome} ~ " + " + ".join(f"C({t})" for t in terms)
    table = anova_lm(smf.ols(formula, data).fit(), typ=2)
    records = {t: _anova_record(table, f"C({t})", ss_total) for t in terms}
    head = records[terms[0]]
    if table.loc["Residual", "sum_sq"] <= RELATIVE_TOL * ss_total:
        head = {**head, "F": None, "p": None}
        out = degenerate("zero residual variance (outcome fully determined by groups)", **head)
    else:
        out = {"degenerate": False, **head}
    out.update(n=n, ss_total=ss_total, model=formula, typ=2)
    for t in terms[1:]:
        out[t] = records[t]
    return out


def tukey(df: pd.DataFrame, outcome: str, alpha: float = 0.05) -> list[dict]:
    """Tukey HSD between every pair of batch sizes (empty when fewer than two groups)."""
    data = df[[outcome, "batch_size"]].dropna()
    if data["batch_size"].nunique() < 2 or data.groupby("batch_size").size().min() < 2:
        return []
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = pairwise_tukeyhsd(data[outcome].to_numpy(float), data["batch_size"].to_numpy(),
                                alpha=alpha)
    groups = res.groupsunique
    pairs = [(int(groups[i]), int(groups[j])) for i in range(len(groups))
             for j in range(i + 1, len(groups))]
    return [{"group1": g1, "group2": g2, "meandiff": float(res.meandiffs[k]),
             "p_adj": float(res.pvalues[k]), "ci_low": float(res.confint[k][0]),
             "ci_high": float(res.confint[k][1]), "reject": bool(res.reject[k])}
            for k, (g1, g2) in enumerate(pairs)]


def oneway(df: pd.DataFrame, outcome: str, alpha: float = 0.05) -> dict:
    """One-way ANOVA of ``outcome`` on batch size, with its Tukey HSD post-hoc pairs."""
    out = anova(df, outcome, ["batch_size"])
    out["tukey"] = tukey(df, outcome, alpha)
    return out


def fit_logit(y: np.ndarray, X: np.ndarray):
    """Fit statsmodels Logit; returns (result, problem).

    ``problem`` is None for a clean fit, else why the coefficients cannot be trusted (perfect
    separation, no convergence); ``result`` is None only when the fit raised.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sm.Logit(y, X).fit(disp=0, maxiter=200)
        except (PerfectSeparationError, np.linalg.LinAlgError) as exc:
            return None, f"fit failed: {type(exc).__name__}"
    names = {w.category.__name__ for w in caught}
    if "PerfectSeparationWarning" in names:
        return res, "perfect or quasi-perfect separation"
    if not res.mle_retvals.get("converged", False):
        return res, "maximum likelihood did not converge"
    return res, None


def logit_trend(df: pd.DataFrame) -> dict:
    """Logistic regression of success on log2(batch size), linear and quadratic, with LR tests.

    Each model's likelihood-ratio test is against the intercept-only model; the quadratic one
    also reports the LR test against the linear one (curvature: an optimal range).
    """
    data = df[["success", "batch_size"]].dropna()
    y = data["success"].to_numpy(float)
    x = np.log2(data["batch_size"].to_numpy(float))
    base = {"n": len(y), "successes": int(y.sum()), "predictor": "log2(batch_size)"}
    if len(y) == 0 or y.min() == y.max():
        return degenerate("all outcomes equal", **base)
    if np.unique(x).size < 2:
        return degenerate("a single batch size", **base)
    out = {"degenerate": False, **base}
    designs = {"linear": np.column_stack([np.ones_like(x), x]),
               "quadratic": np.column_stack([np.ones_like(x), x, x**2])}
    names = {"linear": ["const", "log2_batch"], "quadratic": ["const", "log2_batch",
                                                               "log2_batch_sq"]}
    fits = {}
    for key, X in designs.items():
        if key == "quadratic" and np.unique(x).size < 3:
            out[key] = degenerate("fewer than three batch sizes")
            continue
        res, problem = fit_logit(y, X)
        if problem:
            out[key] = degenerate(problem)
            continue
        fits[key] = res
        out[key] = {"degenerate": False,
                    "coef": dict(zip(names[key], map(float, res.params), strict=True)),
                    "se": dict(zip(names[key], map(float, res.bse), strict=True)),
                    "llr": float(res.llr), "df": int(res.df_model), "p": float(res.llr_pvalue),
                    "llf": float(res.llf)}
    if "linear" in fits and "quadratic" in fits:
        from scipy.stats import chi2

        llr = 2 * (fits["quadratic"].llf - fits["linear"].llf)
        out["quadratic"]["vs_linear"] = {"llr": float(llr), "df": 1,
                                         "p": float(chi2.sf(max(llr, 0.0), 1))}
    if "linear" in out and out["linear"].get("degenerate"):
        out["degenerate"] = True
        out["reason"] = out["linear"]["reason"]
    return out


def phase_table(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Success rate (Wilson CI) per method, batch size and evaluation epoch, over all rows."""
    rows = []
    for (method, batch, epoch), group in df.groupby(["method", "batch_size", "epoch"], sort=True):
        rec = wilson(int(group["success"].sum()), len(group), alpha)
        rows.append({"method": method, "batch_size": int(batch), "epoch": int(epoch),
                     "rate": rec["rate"], "ci_low": rec["ci_low"], "ci_high": rec["ci_high"],
                     "n": rec["n"]})
    cols = ["method", "batch_size", "epoch", "rate", "ci_low", "ci_high", "n"]
    return pd.DataFrame(rows, columns=cols)


def clean(obj, digits: int = 10):
    """JSON-ready copy: numpy scalars to Python, NaN/inf to None, floats to ``digits`` digits."""
    if isinstance(obj, dict):
        return {str(k): clean(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v, digits) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    return obj
