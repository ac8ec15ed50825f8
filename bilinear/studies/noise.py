"""Noise ablation: how far can the weights move and still give the algorithm?

Two readings, each over many Gaussian perturbations theta + sigma * z (z ~ N(0, I), every trial
of a subject drawn at once):
  (a) round_verify: round and clamp to {-1, 0, 1} (the paper's discretization), then the exact
      verifier: success = the rounded scheme is an exact matmul scheme;
  (b) unrounded: keep the perturbed float weights and measure the relative error
      ||C_hat - C||_F / ||C||_F on held-out products; success = error below a tolerance.
Success rates carry Wilson 95% intervals.  The same z serves every sigma of a subject (common
random numbers), so curves over sigma are not jagged by resampling.
"""

from __future__ import annotations

import numpy as np

from bilinear.algebra.expand import EXPANSION_TOL
from bilinear.algebra.schemes import Scheme, strassen, verify
from bilinear.intervals import wilson
from bilinear.learn.crystal import round_clamp


def typo_scheme() -> Scheme:
    """Strassen's scheme with the reference code's typo: the product (a11 + a22)(b11 + b22) has
    U row [1, 0, 0, 0] instead of [1, 0, 0, 1].  It is not a correct scheme."""
    s = strassen()
    U = s.U.copy()
    U[0] = [1, 0, 0, 0]
    return Scheme(s.fmt, U, s.V, s.W, {"source": "Strassen 1969 with the reference code's typo"})


def perturbations(weights, sigmas, trials: int, rng: np.random.Generator) -> list[tuple]:
    """For each sigma, the T perturbed copies (U (T,S,nm), V (T,S,mp), W (T,np,S)).

    One standard-normal draw z per trial is shared by every sigma (common random numbers)."""
    z = [rng.standard_normal((trials, *np.shape(w))) for w in weights]
    return [tuple(np.asarray(w)[None] + s * e for w, e in zip(weights, z, strict=True))
            for s in sigmas]



def round_verify(fmt, U, V, W) -> np.ndarray:
    """Reading (a) for T perturbed copies: round/clamp each, verify it exactly; (T,) bool.

    Identical rounded schemes are verified once (algebra.schemes.verify, exact arithmetic)."""
    rounded = [round_clamp(x).astype(np.int8).reshape(x.shape[0], -1) for x in (U, V, W)]
    flat = np.concatenate(rounded, axis=1)
    unique, inverse = np.unique(flat, axis=0, return_inverse=True)
    shapes = [x.shape[1:] for x in (U, V, W)]
    cuts = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]
    ok = np.array([verify(Scheme(fmt, *(p.reshape(s) for p, s in
                                       zip(np.split(row, cuts), shapes, strict=True))))
                   for row in unique.astype(np.int64)])
    return ok[inverse.reshape(-1)]


def relative_errors(U, V, W, a, b, c) -> np.ndarray:
    """Reading (b): ||C_hat - C||_F / ||C||_F of each of T float models on the samples; (T,)."""
    prod = (a @ U.transpose(0, 2, 1)) * (b @ V.transpose(0, 2, 1))  # (T, N, S)
    c_hat = prod @ W.transpose(0, 2, 1)  # (T, N, np)
    return np.linalg.norm((c_hat - c[None]).reshape(len(U), -1), axis=1) / np.linalg.norm(c)


def rate_entry(success: np.ndarray) -> dict:
    """success_rate, ci_low, ci_high, successes, trials of a boolean trial vector."""
    rate = wilson(int(success.sum()), int(success.size))
    return {"success_rate": rate["rate"], "ci_low": rate["ci_low"], "ci_high": rate["ci_high"],
            "successes": rate["successes"], "trials": rate["n"]}


def ablate(fmt, weights, sigmas, trials: int, rng: np.random.Generator, test=None,
           tolerance: float = EXPANSION_TOL, progress=None) -> dict:
    """Both readings of one subject over the sigma grid.

    weights (U, V, W) float arrays in the model's layout; test (a, b, c) held-out samples, or None
    to skip reading (b).  Returns {reading: {"baseline": sigma-0 result, "sigma": {f"{s:g}":
    entry}}}; reading (b) entries add mean_rel_error and median_rel_error.
    """
    weights = tuple(np.asarray(w, dtype=np.float64) for w in weights)
    base = tuple(w[None] for w in weights)
    out = {"round_verify": {"baseline": {"success": bool(round_verify(fmt, *base)[0])},
                            "sigma": {}}}
    if test is not None:
        err0 = float(relative_errors(*base, *test)[0])
        out["unrounded"] = {"baseline": {"success": err0 < tolerance, "rel_error": err0},
                            "sigma": {}}
    for sigma, copies in zip(sigmas, perturbations(weights, sigmas, trials, rng), strict=True):
        key = f"{sigma:g}"
        out["round_verify"]["sigma"][key] = rate_entry(round_verify(fmt, *copies))
        if test is not None:
            err = relative_errors(*copies, *test)
            out["unrounded"]["sigma"][key] = {**rate_entry(err < tolerance),
                                              "mean_rel_error": float(err.mean()),
                                              "median_rel_error": float(np.median(err))}
        if progress is not None:
            progress.update(1)
    return out


def error_slope(entries: dict) -> float | None:
    """Mean relative error per unit sigma at the smallest sigma of reading (b) (the error is linear
    in sigma there), or None without entries."""
    if not entries:
        return None
    key = min(entries, key=float)
    return entries[key]["mean_rel_error"] / float(key)


def threshold(entries: dict, level: float = 0.99) -> float | None:
    """Largest sigma such that every sigma up to it has success_rate >= level (None if the
    smallest already fails).  entries: {f"{sigma:g}": entry}."""
    best = None
    for key in sorted(entries, key=float):
        if entries[key]["success_rate"] < level:
            break
        best = float(key)
    return best
