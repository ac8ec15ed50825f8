"""The full per-sample gradient covariance spectrum across batch sizes (the paper's section 12.1
mechanism: batch sizes in [24, 128] "stabilize the condition number").

Per run and checkpoint: the spectrum of Sigma over all of the run's training pairs
(studies.kappa.spectrum), its effective rank exp(H(p)) (H the Shannon entropy of the normalised
nonzero eigenvalues p = lambda / sum lambda: 1 for one spike, k for k equal eigenvalues) and its
condition number on the non-degenerate part (studies.kappa.spectrum_stats: largest / smallest
eigenvalue above the numerical-rank tolerance).  Per batch size: the dispersion (standard
deviation over runs) of log10 condition number and of the effective rank.

The paper's two statements, as tests: (1) the condition number is more stable inside [24, 128]:
Brown-Forsythe test (scipy.stats.levene, median-centred) of log10 kappa inside vs outside, with
the two standard deviations; (2) it correlates with success: AUC of -log10 kappa for the runs'
final success (Mann-Whitney p).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import levene, mannwhitneyu

from bilinear.studies.kappa import ABS_TOL, per_sample_grads_analytic, spectrum, spectrum_stats

RANGE = (24, 128)  # the paper's optimal batch range


def effective_rank(eigenvalues: np.ndarray) -> float:
    """exp of the entropy of the normalised positive eigenvalues (0 for an all-zero spectrum)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lam = lam[lam > 0]
    if not lam.size:
        return 0.0
    p = lam / lam.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def run_spectra(U, V, W, a, b, c, abs_tol: float = ABS_TOL) -> dict[str, np.ndarray]:
    """Per run (leading axis R) on its own pairs a (R,N,nm), b, c: the covariance spectrum
    (R, min(N, d)), condition number kappa (NaN when degenerate), rank, effective rank."""
    grads = per_sample_grads_analytic(U, V, W, a, b, c)
    stats = spectrum_stats(grads, abs_tol)
    eig = spectrum(grads).numpy()
    eff = np.array([effective_rank(np.where(e > t, e, 0.0))
                    for e, t in zip(eig, stats["tolerance"].numpy(), strict=True)])
    return {"spectrum": eig, "kappa": stats["kappa"].numpy(), "rank": stats["rank"].numpy(),
            "effective_rank": eff}


def dispersion(values: dict[int, np.ndarray]) -> dict[str, dict]:
    """{batch size: {n, median, sd}} of finite values per batch size."""
    out = {}
    for batch, v in sorted(values.items()):
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        out[str(batch)] = {"n": int(v.size), "median": float(np.median(v)) if v.size else None,
                           "sd": float(np.std(v, ddof=1)) if v.size > 1 else None}
    return out


def stability_test(log_kappa: dict[int, np.ndarray]) -> dict:
    """Statement (1): log10 kappa inside RANGE vs outside: standard deviations and the
    Brown-Forsythe p (equal spread); degenerate when a side has fewer than two values."""
    inside = np.concatenate([v for b, v in log_kappa.items() if RANGE[0] <= b <= RANGE[1]] or
                            [np.array([])])
    outside = np.concatenate([v for b, v in log_kappa.items() if not RANGE[0] <= b <= RANGE[1]]
                             or [np.array([])])
    inside, outside = inside[np.isfinite(inside)], outside[np.isfinite(outside)]
    if min(inside.size, outside.size) < 2:
        return {"degenerate": True, "reason": "fewer than two runs inside or outside the range"}
    p = float(levene(inside, outside, center="median").pvalue)
    sd_in, sd_out = float(np.std(inside, ddof=1)), float(np.std(outside, ddof=1))
    return {"degenerate": False, "n_inside": int(inside.size), "n_outside": int(outside.size),
            "sd_inside": sd_in, "sd_outside": sd_out, "p": p,
            "more_stable_inside": bool(sd_in < sd_out and p < 0.05)}


def success_correlation(log_kappa: np.ndarray, success: np.ndarray) -> dict:
    """Statement (2): AUC of -log10 kappa for success (1 = low kappa always succeeds) and the
    two-sided Mann-Whitney p; degenerate without both outcomes."""
    x, y = np.asarray(log_kappa, float), np.asarray(success, bool)
    keep = np.isfinite(x)
    x, y = x[keep], y[keep]
    if y.all() or not y.any():
        return {"degenerate": True, "reason": "one outcome class", "n": int(y.size)}
    test = mannwhitneyu(-x[y], -x[~y])
    return {"degenerate": False, "n": int(y.size), "successes": int(y.sum()),
            "auc": float(test.statistic) / (y.sum() * (~y).sum()), "p": float(test.pvalue)}
