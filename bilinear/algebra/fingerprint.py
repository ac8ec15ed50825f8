"""Fingerprints of schemes: invariants that tell inequivalent schemes apart.

Two schemes of one format are *equivalent* when one is mapped to the other by the symmetries of
matrix multiplication: the sandwich maps (A, B, C) -> (X A Y^-1, Y B Z^-1, X C Z^-1) with
invertible X, Y, Z, permuting the products, rescaling a product's three factors by a, b, 1/(ab),
and, where they map the format to itself, the role maps: transposition, the cyclic rotation and
their products (all of them for <n,n,n>, one for <n,m,n>, <n,n,p> and <n,p,p>).  The profile of
a product r is

    (rank U_r, rank V_r, rank W_r, #U parallel, #V parallel, #W parallel)

where U_r is the n x m matrix of its A-coefficients (V_r m x p, W_r n x p) and "#U parallel" counts
the other products whose U factor is a multiple of U_r.  Every entry is invariant under the sandwich
maps (they act on each factor space as an invertible linear map) and under rescaling; the
fingerprint is the sorted multiset of profiles, minimised over the role permutations that
transposition and rotation induce, so it is invariant under the whole group.

What it can tell: two schemes with different fingerprints are inequivalent.  What it cannot: equal
fingerprints do not prove equivalence (for example, two <3,3,3>:23 schemes whose products all have
rank-1 factors and no parallel factors share a fingerprint whatever their structure); an explicit
witness (bilinear.algebra.equivalence) is the proof of equivalence.  Ranks are exact (rational
arithmetic), so the fingerprint is the same on every machine.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from fractions import Fraction
from itertools import permutations

import numpy as np

from bilinear.algebra.schemes import Scheme


def exact_rank(matrix: np.ndarray) -> int:
    """Rank of a matrix of Fractions (or integers), by exact Gaussian elimination."""
    rows = [[Fraction(x) for x in row] for row in np.asarray(matrix, dtype=object)]
    rank, cols = 0, len(rows[0]) if rows else 0
    for col in range(cols):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        head = rows[rank]
        for i in range(rank + 1, len(rows)):
            if rows[i][col] != 0:
                f = rows[i][col] / head[col]
                rows[i] = [a - f * b for a, b in zip(rows[i], head, strict=True)]
        rank += 1
    return rank


def _factors(scheme: Scheme) -> list[list[np.ndarray]]:
    """Per role (U, V, W) the list of the products' factor matrices."""
    n, m, p = scheme.fmt
    return [
        [scheme.U[r].reshape(n, m) for r in range(scheme.rank)],
        [scheme.V[r].reshape(m, p) for r in range(scheme.rank)],
        [scheme.W[:, r].reshape(n, p) for r in range(scheme.rank)],
    ]


def _direction(matrix: np.ndarray) -> tuple:
    """The line through a nonzero factor: the factor scaled so its first nonzero entry is 1."""
    flat = list(matrix.flat)
    lead = next((x for x in flat if x != 0), None)
    return tuple(x / lead for x in flat) if lead is not None else ("zero",)


def role_permutations(fmt: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Permutations of the roles (U, V, W) induced by the format's own symmetries: all six for
    <n,n,n>; for two equal dimensions the one role map that keeps the format (transposition,
    (a, b, c) -> (b^T, a^T, c^T), for <n,m,n>; rotation then transposition, (a^T, c, b), for
    <n,n,p>; (c, b^T, a) for <n,p,p>)."""
    n, m, p = fmt
    if n == m == p:
        return list(permutations(range(3)))
    if n == p:
        return [(0, 1, 2), (1, 0, 2)]
    if n == m:
        return [(0, 1, 2), (0, 2, 1)]
    if m == p:
        return [(0, 1, 2), (2, 1, 0)]
    return [(0, 1, 2)]


def profile(scheme: Scheme) -> tuple[tuple[int, ...], ...]:
    """The sorted multiset of per-product profiles, minimised over the format's role symmetries."""
    factors = _factors(scheme)
    ranks = [[exact_rank(f) for f in role] for role in factors]
    parallel = []
    for role in factors:
        lines = [_direction(f) for f in role]
        counts = Counter(lines)  # linear in the rank (a scheme file may hold up to MAX_RANK)
        parallel.append([counts[line] - 1 for line in lines])
    best = None
    for perm in role_permutations(scheme.fmt):
        rows = sorted(
            tuple(ranks[k][r] for k in perm) + tuple(parallel[k][r] for k in perm)
            for r in range(scheme.rank)
        )
        key = tuple(rows)
        best = key if best is None or key < best else best
    return best


def fingerprint(scheme: Scheme) -> str:
    """A short stable name of the scheme's profile: '<n>x<m>x<p>-r<R>-<12 hex digits>'."""
    n, m, p = scheme.fmt
    text = ";".join(",".join(map(str, row)) for row in profile(scheme))
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{n}x{m}x{p}-r{scheme.rank}-{digest}"
