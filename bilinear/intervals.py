"""Confidence intervals every layer reports, taken from the pinned libraries (statsmodels)."""

from __future__ import annotations

from statsmodels.stats.proportion import proportion_confint


def wilson(successes: int, n: int, alpha: float = 0.05) -> dict:
    """Success rate with its Wilson interval (statsmodels proportion_confint, method "wilson"):
    {rate, ci_low, ci_high, n, successes}; null rate and bounds when n == 0."""
    if n == 0:
        return {"rate": None, "ci_low": None, "ci_high": None, "n": 0, "successes": 0}
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return {"rate": successes / n, "ci_low": float(low), "ci_high": float(high), "n": int(n),
            "successes": int(successes)}
