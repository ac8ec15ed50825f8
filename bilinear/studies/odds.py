"""Odds ratios of success per factor of a two-level factorial design (the paper's section 11.3
(1)), and the comparison of initialisations: statsmodels Logit of success on one indicator per
factor (1 at the factor's second level), odds ratio exp(beta) with its Wald interval; Fisher's
exact test between two conditions' counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact, norm

from bilinear.studies.stats import degenerate, fit_logit


def design_matrix(rows: pd.DataFrame, levels: dict[str, list]) -> tuple[np.ndarray, list[str]]:
    """Constant plus one 0/1 column per factor (1 where the factor is at its second level)."""
    names = list(levels)
    cols = [np.ones(len(rows))] + [(rows[f] == levels[f][1]).to_numpy(float) for f in names]
    return np.column_stack(cols), names


def odds_ratios(rows: pd.DataFrame, outcome: str, levels: dict[str, list],
                alpha: float = 0.05) -> dict:
    """Logistic regression of rows[outcome] (0/1) on the factors: per factor the odds ratio of
    its second level against its first, the (1 - alpha) interval and p; degenerate with one
    outcome class or when the fit cannot be trusted (separation, no convergence)."""
    y = rows[outcome].to_numpy(float)
    base = {"n": int(y.size), "successes": int(y.sum()),
            "marginal": {f: marginal(rows, outcome, f, pair, alpha) for f, pair in levels.items()}}
    if y.size == 0 or y.min() == y.max():
        return degenerate("one outcome class", **base)
    X, names = design_matrix(rows, levels)
    res, problem = fit_logit(y, X)
    if problem or res is None:
        return degenerate(problem or "fit failed", **base)
    ci = np.exp(res.conf_int(alpha))
    factors = {name: {"levels": levels[name], "odds_ratio": float(np.exp(res.params[i + 1])),
                      "ci_low": float(ci[i + 1, 0]), "ci_high": float(ci[i + 1, 1]),
                      "p": float(res.pvalues[i + 1])} for i, name in enumerate(names)}
    return {"degenerate": False, **base, "factors": factors, "llr_p": float(res.llr_pvalue)}


def marginal(rows: pd.DataFrame, outcome: str, factor: str, pair: list,
             alpha: float = 0.05) -> dict:
    """Odds ratio of success at pair[1] against pair[0] from the 2 x 2 table, 0.5 added to every
    cell (Haldane-Anscombe), with its Woolf (1 - alpha) interval and Fisher's exact p."""
    cells = []
    for level in (pair[1], pair[0]):
        y = rows.loc[rows[factor] == level, outcome].to_numpy(int)
        cells += [int(y.sum()), int(y.size - y.sum())]
    a, b, c, d = cells
    log_or = np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    se = np.sqrt(sum(1 / (x + 0.5) for x in cells))
    z = norm.ppf(1 - alpha / 2)
    return {"levels": list(pair), "odds_ratio": float(np.exp(log_or)),
            "ci_low": float(np.exp(log_or - z * se)), "ci_high": float(np.exp(log_or + z * se)),
            "p": float(fisher_exact([[a, b], [c, d]])[1]), "table": cells}


def compare(k1: int, n1: int, k2: int, n2: int, alternative: str = "two-sided") -> dict:
    """Fisher's exact test of k1/n1 against k2/n2: the sample odds ratio and p."""
    ratio, p = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative=alternative)
    return {"odds_ratio": float(ratio), "p": float(p)}
