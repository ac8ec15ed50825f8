"""The slot-permutation test, in both readings.

The paper permutes the R = 7 slots of Strassen's scheme in all 7! = 5040 ways and reports that only
the identity keeps the scheme working. Two operations go by that name:

- coherent: the same permutation applied to U's rows, V's rows and W's columns. This relabels the
  products, so every permutation leaves the scheme correct;
- W only: W's columns permuted while U and V stay, which rewires the products to the wrong outputs.

Both are checked exactly (integer Brent equations) and, for W only, by the normwise relative error
on random products. All R! permutations are tested when R! <= max_permutations, else that many are
drawn at random (the identity always first).
"""

from __future__ import annotations

import math
from itertools import islice, permutations

import numpy as np

from bilinear.algebra.schemes import Scheme, _integer_scaled, matmul_tensor

CHUNK_ELEMENTS = 1 << 22  # per vectorised block of permutations


def slot_permutations(rank: int, rng: np.random.Generator, limit: int) -> tuple[np.ndarray, bool]:
    """(perms (q, rank), exhaustive): every permutation in lexicographic order when rank! <= limit,
    else the identity followed by limit - 1 uniform random draws."""
    if math.factorial(rank) <= limit:
        return np.array(list(islice(permutations(range(rank)), limit)), dtype=np.int64), True
    draws = [np.arange(rank)] + [rng.permutation(rank) for _ in range(limit - 1)]
    return np.array(draws, dtype=np.int64), False


def _integer_factors(scheme: Scheme):
    """Integer U, V, W (int64 when overflow-safe, else Python ints) and the target scaled alike."""
    (iu, du), (iv, dv), (iw, dw) = (_integer_scaled(t) for t in (scheme.U, scheme.V, scheme.W))
    scale = du * dv * dw
    peak = [max((abs(int(x)) for x in t.flat), default=0) for t in (iu, iv, iw)]
    safe = math.prod(max(1, x) for x in peak) * scheme.rank + scale < 2**62
    kind = np.int64 if safe else object
    target = matmul_tensor(*scheme.fmt).astype(kind) * scale
    return iu.astype(kind), iv.astype(kind), iw.astype(kind), target


def _exact_counts(scheme: Scheme, perms: np.ndarray) -> tuple[int, int]:
    """(coherent, w_only): how many permutations keep the Brent equations exact."""
    iu, iv, iw = _integer_factors(scheme)[:3]
    target = _integer_factors(scheme)[3].reshape(-1)
    outer = (iu[:, :, None] * iv[:, None, :]).reshape(scheme.rank, -1)  # (R, nm*mp)
    chunk = max(1, CHUNK_ELEMENTS // (outer.size + iw.size))
    coherent = w_only = 0
    for start in range(0, len(perms), chunk):
        block = perms[start:start + chunk]
        wp = iw[:, block]  # (np, q, R)
        coh = np.einsum("qrx,kqr->qxk", outer[block], wp).reshape(len(block), -1)
        wonly = np.einsum("rx,kqr->qxk", outer, wp).reshape(len(block), -1)
        coherent += int(np.sum(np.all(coh == target, axis=1)))
        w_only += int(np.sum(np.all(wonly == target, axis=1)))
    return coherent, w_only


def _w_only_errors(scheme: Scheme, perms: np.ndarray, rng: np.random.Generator,
                   pairs: int) -> np.ndarray:
    """Normwise relative error of each W-only permutation on the same random pairs (A, B)."""
    n, m, p = scheme.fmt
    U, V, W = scheme.as_float()
    a = rng.standard_normal((pairs, n * m))
    b = rng.standard_normal((pairs, m * p))
    c = np.einsum("bij,bjk->bik", a.reshape(pairs, n, m), b.reshape(pairs, m, p))
    c = c.reshape(pairs, n * p)
    products = (a @ U.T) * (b @ V.T)  # (pairs, R)
    norm = np.linalg.norm(c)
    chunk = max(1, CHUNK_ELEMENTS // (pairs * n * p + W.size))
    out = []
    for start in range(0, len(perms), chunk):
        block = perms[start:start + chunk]
        approx = np.einsum("kqr,br->qbk", W[:, block], products)
        out.append(np.linalg.norm((approx - c).reshape(len(block), -1), axis=1) / norm)
    return np.concatenate(out)


def _sig(x: float) -> float:
    """x rounded to 4 significant digits (stable bytes across BLAS summation orders)."""
    return float(f"{x:.4g}")


def permutation_test(scheme: Scheme, rng: np.random.Generator, max_permutations: int = 5040,
                     pairs: int = 256) -> dict:
    """Both readings of the slot-permutation test; a JSON-ready summary (errors to 4 digits)."""
    perms, exhaustive = slot_permutations(scheme.rank, rng, max_permutations)
    coherent, w_only = _exact_counts(scheme, perms)
    errors = _w_only_errors(scheme, perms, rng, pairs)
    identity = np.all(perms == np.arange(scheme.rank), axis=1)
    others = errors[~identity]
    summary = {
        "rank": scheme.rank,
        "tested": int(len(perms)),
        "exhaustive": exhaustive,
        "pairs": pairs,
        "coherent": {"exact": coherent, "inexact": int(len(perms)) - coherent},
        "w_only": {
            "exact": w_only,
            "exact_non_identity": w_only - int(identity.sum()),
            "identity_rel_error": _sig(float(errors[identity].max())),
        },
    }
    if len(others):
        summary["w_only"].update({
            "mean_rel_error_non_identity": _sig(float(others.mean())),
            "median_rel_error_non_identity": _sig(float(np.median(others))),
            "min_rel_error_non_identity": _sig(float(others.min())),
            "max_rel_error_non_identity": _sig(float(others.max())),
        })
    return summary
