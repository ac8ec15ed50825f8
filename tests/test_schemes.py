"""Tests for bilinear.algebra.schemes: tensor, exact check, canonical form, scheme files, npz."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bilinear.algebra.formats.npz import load_npz_scheme, npz_keys
from bilinear.algebra.formats.project_json import load_scheme, save_scheme, scheme_to_json
from bilinear.algebra.schemes import (
    Scheme,
    SchemeFormatError,
    canonical,
    matmul_tensor,
    naive,
    residual,
    strassen,
    to_fractions,
    verify,
)

SMALL_KEYS = ["2x2x2", "2x2x3", "2x3x4", "3x3x3", "3x4x5", "4x4x4", "2x2x8"]


def known_schemes_npz() -> Path:
    """The npz of known schemes kept in the project (schemes/, see its NOTICE.md)."""
    return Path(__file__).resolve().parents[1] / "schemes" / "alphatensor_r_plain.npz"


def plain_arrays(scheme: Scheme, key: str) -> dict:
    """Arrays of the shared plain (transposed-output) npz format for one scheme."""
    n, _, p = scheme.fmt
    U, V, W = scheme.as_float()
    w = np.empty_like(W)
    for i in range(n):
        for k in range(p):
            w[k * n + i] = W[i * p + k]
    return {f"{key}_u": U.T, f"{key}_v": V.T, f"{key}_w": w}


def _same(x: Scheme, y: Scheme) -> bool:
    return x.fmt == y.fmt and all(np.array_equal(getattr(x, t), getattr(y, t)) for t in "UVW")


@pytest.mark.parametrize("fmt", [(1, 1, 1), (2, 2, 2), (2, 3, 4), (3, 1, 2)])
def test_matmul_tensor_computes_products(fmt):
    n, m, p = fmt
    T = matmul_tensor(n, m, p)
    assert T.shape == (n * m, m * p, n * p) and T.sum() == n * m * p
    rng = np.random.default_rng(0)
    A, B = rng.integers(-5, 5, (n, m)), rng.integers(-5, 5, (m, p))
    assert np.array_equal(np.einsum("i,j,ijk->k", A.ravel(), B.ravel(), T), (A @ B).ravel())
    assert verify(naive(n, m, p))


def test_strassen_verifies_and_computes():
    s = strassen()
    assert verify(s) and s.rank == 7 and s.is_integral() and s.nonzeros() == 36
    U, V, W = s.as_float()
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    assert np.allclose(W @ ((U @ A.ravel()) * (V @ B.ravel())), (A @ B).ravel())


@pytest.mark.parametrize("factor", ["U", "V", "W"])
def test_any_single_changed_coefficient_fails(factor):
    base = getattr(strassen(), factor)
    for index in np.ndindex(base.shape):
        for delta in (Fraction(1), Fraction(-1, 2)):
            broken = strassen()
            getattr(broken, factor)[index] += delta
            assert not verify(broken), (factor, index, delta)
            assert any(x != 0 for x in residual(broken).flat)


def test_residual_is_exact():
    broken = strassen()
    broken.W[0, 0] += Fraction(1, 3)  # slot 0 = (a11 + a22)(b11 + b22) added to c11 / 3
    R = residual(broken)
    expected = np.zeros((4, 4, 4), dtype=object)
    for i in (0, 3):
        for j in (0, 3):
            expected[i, j, 0] = Fraction(1, 3)
    assert np.array_equal(R, expected)


def test_rational_and_big_integer_schemes_verify_exactly():
    s = strassen()
    s.U[2] *= Fraction(2, 3)
    s.W[:, 2] *= Fraction(3, 2)
    assert verify(s) and not s.is_integral()
    big = strassen()
    big.U[0] *= 2**60
    big.W[:, 0] /= 2**60
    assert verify(big)
    big.W[0, 0] += Fraction(1, 2**70)
    assert not verify(big)


def _random_moves(scheme: Scheme, seed: int) -> Scheme:
    """Same algorithm: slots permuted and signs of a, b moved into c."""
    rng = random.Random(seed)
    order = list(range(scheme.rank))
    rng.shuffle(order)
    U, V, W = scheme.U[order].copy(), scheme.V[order].copy(), scheme.W[:, order].copy()
    for r in range(scheme.rank):
        su, sv = rng.choice([1, -1]), rng.choice([1, -1])
        U[r], V[r], W[:, r] = U[r] * su, V[r] * sv, W[:, r] * su * sv
    return Scheme(scheme.fmt, U, V, W, dict(scheme.provenance))


@pytest.mark.parametrize("seed", range(5))
def test_canonical_form_invariant_under_permutation_and_sign(seed):
    s = strassen()
    moved = _random_moves(s, seed)
    assert verify(moved)
    assert _same(canonical(moved), canonical(s))
    assert scheme_to_json(moved) == scheme_to_json(s)


def test_json_roundtrip_is_byte_identical(tmp_path):
    s = strassen()
    s.U[1] *= Fraction(1, 2)
    s.W[:, 1] *= 2
    s.provenance = {"recipe": "paper", "seed": 3, "method": "sparsify", "fallback": False}
    save_scheme(tmp_path / "a.json", s)
    loaded = load_scheme(tmp_path / "a.json")
    save_scheme(tmp_path / "b.json", loaded)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert _same(loaded, canonical(s)) and loaded.provenance == s.provenance
    assert '"1/2"' in (tmp_path / "a.json").read_text()


def test_to_fractions_rejects_non_numbers():
    assert to_fractions([["1/3", 2, 0.5]])[0, 0] == Fraction(1, 3)
    for bad in ([[True]], [["x"]], [[float("nan")]], [[None]], [1, 2], [[]]):
        with pytest.raises(SchemeFormatError):
            to_fractions(bad)


def test_npz_conversion_of_transposed_output(tmp_path):
    """Our scheme -> plain format -> loader gives back the same scheme (non-square format)."""
    good = naive(2, 3, 4)
    np.savez(tmp_path / "s.npz", **plain_arrays(good, "2x3x4"))
    loaded = load_npz_scheme(tmp_path / "s.npz", "2x3x4")
    assert npz_keys(tmp_path / "s.npz") == ["2x3x4"]
    assert np.array_equal(loaded.U, good.U) and np.array_equal(loaded.W, good.W)
    assert verify(loaded)
    raw = plain_arrays(good, "2x3x4")  # read without conversion, w would be the wrong rows
    assert not verify(Scheme((2, 3, 4), raw["2x3x4_u"].T, raw["2x3x4_v"].T, raw["2x3x4_w"]))


@pytest.mark.parametrize("key", SMALL_KEYS)
def test_known_schemes_verify(key):
    scheme = load_npz_scheme(known_schemes_npz(), key)
    n, m, p = (int(x) for x in key.split("x"))
    assert scheme.fmt == (n, m, p) and scheme.rank < n * m * p and verify(scheme)


@pytest.mark.slow
def test_every_known_scheme_verifies():
    path = known_schemes_npz()
    keys = npz_keys(path)
    assert len(keys) == 93
    failing = [k for k in keys if not verify(load_npz_scheme(path, k))]
    assert failing == []
