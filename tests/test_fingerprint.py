"""Tests for bilinear.algebra.fingerprint: invariant under the symmetries, separates inequivalent
schemes."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bilinear.algebra.fingerprint import exact_rank, fingerprint, profile
from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.schemes import Scheme, strassen, verify

NPZ = "schemes/alphatensor_r_plain.npz"


def _unimodular(k: int, rng: np.random.Generator) -> np.ndarray:
    """A random integer matrix of determinant +-1 (product of elementary matrices)."""
    M = np.eye(k, dtype=object).astype(object) * Fraction(1)
    for _ in range(3 * k):
        i, j = rng.choice(k, size=2, replace=False)
        E = np.eye(k, dtype=object) * Fraction(1)
        E[i, j] = Fraction(int(rng.integers(-2, 3)))
        M = M.dot(E)
    return M


def _inverse(M: np.ndarray) -> np.ndarray:
    k = M.shape[0]
    aug = [[*map(Fraction, row), *(Fraction(int(i == j)) for j in range(k))]
           for i, row in enumerate(M)]
    for c in range(k):
        piv = next(r for r in range(c, k) if aug[r][c] != 0)
        aug[c], aug[piv] = aug[piv], aug[c]
        aug[c] = [x / aug[c][c] for x in aug[c]]
        for r in range(k):
            if r != c and aug[r][c] != 0:
                f = aug[r][c]
                aug[r] = [a - f * b for a, b in zip(aug[r], aug[c], strict=True)]
    return np.array([row[k:] for row in aug], dtype=object)


def _sandwich(scheme: Scheme, rng: np.random.Generator) -> Scheme:
    """The scheme for (A, B) -> X A Y^-1, Y B Z^-1 (C -> X C Z^-1), products permuted and scaled."""
    n, m, p = scheme.fmt
    X, Y, Z = (_unimodular(k, rng) for k in (n, m, p))
    Xi, Yi, Zi = (_inverse(M) for M in (X, Y, Z))
    perm = rng.permutation(scheme.rank)
    U, V, W = [], [], []
    for r in perm:
        s = Fraction(int(rng.choice([-2, -1, 1, 2])))
        # <U_r, Xi A' Y> = <Xi^T U_r Y^T, A'>, where A = Xi A' Y is the original operand
        U.append((Xi.T.dot(scheme.U[r].reshape(n, m)).dot(Y.T) * s).reshape(-1))
        V.append((Yi.T.dot(scheme.V[r].reshape(m, p)).dot(Z.T)).reshape(-1))
        W.append((X.dot(scheme.W[:, r].reshape(n, p)).dot(Zi) / s).reshape(-1))
    return Scheme(scheme.fmt, np.array(U), np.array(V), np.array(W).T)


@pytest.mark.parametrize("key", ["2x2x2", "2x3x4", "3x3x3"])
def test_invariant_under_sandwich_and_permutation(key):
    scheme = load_npz_scheme(NPZ, key)
    rng = np.random.default_rng(7)
    for _ in range(3):
        moved = _sandwich(scheme, rng)
        assert verify(moved)
        assert fingerprint(moved) == fingerprint(scheme)


def test_invariant_under_transposition():
    s = load_npz_scheme(NPZ, "3x3x3")
    n = 3
    # (AB)^T = B^T A^T: products (V_r^T, U_r^T, W_r^T)
    U = np.array([s.V[r].reshape(n, n).T.reshape(-1) for r in range(s.rank)])
    V = np.array([s.U[r].reshape(n, n).T.reshape(-1) for r in range(s.rank)])
    W = np.array([s.W[:, r].reshape(n, n).T.reshape(-1) for r in range(s.rank)]).T
    t = Scheme(s.fmt, U, V, W)
    assert verify(t)
    assert fingerprint(t) == fingerprint(s)


def test_separates_inequivalent_schemes():
    # <2,2,4> at rank 14: Strassen on each half of B (identical U factors in pairs) vs AlphaTensor's
    st = strassen()
    U = np.vstack([st.U, st.U])
    V = np.zeros((14, 8), dtype=object)
    W = np.zeros((8, 14), dtype=object)
    for half in range(2):
        for r in range(7):
            Vr, Wr = st.V[r].reshape(2, 2), st.W[:, r].reshape(2, 2)
            v, w = np.zeros((2, 4), dtype=object), np.zeros((2, 4), dtype=object)
            v[:, 2 * half:2 * half + 2], w[:, 2 * half:2 * half + 2] = Vr, Wr
            V[7 * half + r], W[:, 7 * half + r] = v.reshape(-1), w.reshape(-1)
    blocks = Scheme((2, 2, 4), U, V, W)
    assert verify(blocks)
    other = load_npz_scheme(NPZ, "2x2x4")
    assert other.rank == 14
    assert fingerprint(blocks) != fingerprint(other)
    assert fingerprint(strassen()) == fingerprint(load_npz_scheme(NPZ, "2x2x2"))


def test_exact_rank_and_profile_of_strassen():
    assert exact_rank(np.array([[1, 2], [2, 4]])) == 1
    assert exact_rank(np.array([[Fraction(1, 3), 1], [1, 3]])) == 1
    assert exact_rank(np.eye(3, dtype=int)) == 3
    assert sorted(row[:3] for row in profile(strassen())) == [(1, 1, 1)] * 6 + [(2, 2, 2)]
