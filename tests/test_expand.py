"""Tests for bilinear.algebra.expand: recursive block expansion with the scheme at every level."""

from __future__ import annotations

import numpy as np
import pytest

from bilinear.algebra.expand import (
    expansion_levels,
    expansion_success,
    multiply,
    relative_error,
    relative_errors,
)
from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.schemes import naive, strassen
from tests.test_schemes import known_schemes_npz

SHAPES = [(2, 2, 2), (4, 4, 4), (3, 3, 3), (5, 7, 3), (17, 9, 33), (64, 64, 64), (1, 1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cutoff", [1, 2, 5])
def test_strassen_is_exact_on_integers(shape, cutoff):
    """Integer inputs and +-1 coefficients: every partial sum is exact in float64."""
    M, K, N = shape
    rng = np.random.default_rng(M * 100 + K * 10 + N)
    A = rng.integers(-9, 10, (M, K)).astype(np.float64)
    B = rng.integers(-9, 10, (K, N)).astype(np.float64)
    assert np.array_equal(multiply(strassen(), A, B, cutoff), A @ B)


@pytest.mark.parametrize("key", ["3x3x3", "2x3x4", "4x4x4"])
@pytest.mark.parametrize("size", [1, 7, 26, 50])
def test_known_non_2x2_schemes_expand(key, size):
    scheme = load_npz_scheme(known_schemes_npz(), key)
    rng = np.random.default_rng(size)
    A, B = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    assert relative_error(multiply(scheme, A, B, cutoff=1), A @ B) < 1e-12


def test_rectangular_operands_with_rectangular_scheme():
    scheme = load_npz_scheme(known_schemes_npz(), "2x3x4")
    rng = np.random.default_rng(5)
    A = rng.integers(-3, 4, (13, 31)).astype(np.float64)
    B = rng.integers(-3, 4, (31, 9)).astype(np.float64)
    assert np.allclose(multiply(scheme, A, B, cutoff=1), A @ B, rtol=0, atol=1e-9)


def test_levels_and_cutoff():
    assert expansion_levels((2, 2, 2), (1024, 1024, 1024), cutoff=8) == 7
    assert expansion_levels((2, 2, 2), (1000, 1000, 1000), cutoff=8) == 7
    assert expansion_levels((2, 2, 2), (2, 2, 2), cutoff=8) == 1  # min_levels: scheme used once
    assert expansion_levels((2, 2, 2), (2, 2, 2), cutoff=8, min_levels=0) == 0
    assert expansion_levels((2, 2, 2), (64, 64, 64), cutoff=1) == 6
    assert expansion_levels((3, 3, 3), (10, 10, 10), cutoff=1) == 3  # 10 -> 4 -> 2 -> 1


def test_scheme_used_at_every_level():
    """A wrong coefficient spoils the result at every depth, also with a cutoff of 1."""
    broken = strassen()
    broken.W[0, 0] = 0
    rng = np.random.default_rng(0)
    for size in (2, 8, 32):
        A, B = rng.standard_normal((size, size)), rng.standard_normal((size, size))
        assert relative_error(multiply(broken, A, B, cutoff=1), A @ B) > 0.01


def test_naive_scheme_matches_numpy_and_dtype_is_kept():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((20, 12)).astype(np.float32)
    B = rng.standard_normal((12, 6)).astype(np.float32)
    C = multiply(naive(2, 2, 2), A, B, cutoff=1)
    assert C.dtype == np.float32 and np.allclose(C, A @ B, atol=1e-5)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        multiply(strassen(), np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError):
        multiply(strassen(), np.ones((2, 2)), np.ones((2, 2)), cutoff=0)


def test_relative_errors_are_small_and_seeded():
    sizes = [2, 3, 16, 33, 100]
    first = relative_errors(strassen(), sizes, np.random.default_rng(3), trials=2, cutoff=4)
    again = relative_errors(strassen(), sizes, np.random.default_rng(3), trials=2, cutoff=4)
    assert first == again and list(first) == sizes
    assert all(0 < err < 1e-13 for err in first.values())
    single = relative_errors(strassen(), sizes, np.random.default_rng(3), cutoff=4,
                             dtype=np.float32)
    assert all(err < 1e-5 for err in single.values())
    baseline = relative_errors(None, sizes, np.random.default_rng(3), dtype=np.float32)
    assert all(0 < err < 1e-6 for err in baseline.values())


def test_expansion_success():
    assert expansion_success(strassen(), np.random.default_rng(0))
    broken = strassen()
    broken.U[3, 3] = 0
    assert not expansion_success(broken, np.random.default_rng(0))
