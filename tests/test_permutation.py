"""Tests for bilinear.algebra.permutation: the slot-permutation test in both readings."""

from __future__ import annotations

import math

import numpy as np

from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.permutation import permutation_test, slot_permutations
from bilinear.algebra.schemes import naive, strassen
from tests.test_schemes import known_schemes_npz


def test_strassen_all_5040():
    result = permutation_test(strassen(), np.random.default_rng(0))
    assert result["tested"] == 5040 and result["exhaustive"]
    assert result["coherent"] == {"exact": 5040, "inexact": 0}
    w_only = result["w_only"]
    assert w_only["exact"] == 1 and w_only["exact_non_identity"] == 0
    assert w_only["identity_rel_error"] < 1e-14
    assert w_only["min_rel_error_non_identity"] > 0.1
    assert result == permutation_test(strassen(), np.random.default_rng(0))


def test_repeated_output_columns_allow_exact_w_permutations():
    """Classical 2x2 scheme: two products per output entry, so 2^4 W-only orders stay exact."""
    result = permutation_test(naive(2, 2, 2), np.random.default_rng(0), max_permutations=40320)
    assert result["exhaustive"] and result["tested"] == math.factorial(8)
    assert result["coherent"]["exact"] == 40320
    assert result["w_only"]["exact"] == 16


def test_sampled_permutations_for_large_rank():
    perms, exhaustive = slot_permutations(23, np.random.default_rng(0), 50)
    assert not exhaustive and perms.shape == (50, 23)
    assert np.array_equal(perms[0], np.arange(23))
    assert all(sorted(p) == list(range(23)) for p in perms.tolist())
    scheme = load_npz_scheme(known_schemes_npz(), "3x3x3")
    result = permutation_test(scheme, np.random.default_rng(1), max_permutations=30, pairs=16)
    assert result["tested"] == 30 and result["coherent"]["exact"] == 30
    assert result["w_only"]["exact"] == 1


def test_exhaustive_lexicographic_order():
    perms, exhaustive = slot_permutations(3, np.random.default_rng(0), 10)
    assert exhaustive and perms.tolist()[:2] == [[0, 1, 2], [0, 2, 1]] and len(perms) == 6
