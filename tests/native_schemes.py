"""Schemes and build helpers shared by the native-kernel tests."""

from __future__ import annotations

from bilinear.algebra.schemes import Scheme, load_npz_scheme
from tests.test_schemes import known_schemes_npz

TEST_SETTINGS = {"leaf_min": {"float64_1": 4, "float64_2": 4, "float32_1": 4, "float32_2": 4},
                 "min_n": {"float64_1": 1, "float64_2": 1, "float32_1": 1, "float32_2": 1},
                 "max_levels": 3, "split": True}


def alphatensor(key: str) -> Scheme:
    """A scheme of the AlphaTensor npz kept in the project (schemes/)."""
    return load_npz_scheme(known_schemes_npz(), key)
