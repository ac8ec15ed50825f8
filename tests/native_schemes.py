"""Schemes and build helpers shared by the native-kernel tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bilinear.schemes import Scheme, load_npz_scheme

TEST_SETTINGS = {"leaf_min": {"float64_1": 4, "float64_2": 4, "float32_1": 4, "float32_2": 4},
                 "max_levels": 3, "split": True}


def alphatensor(key: str) -> Scheme:
    """A scheme of the shared AlphaTensor npz (found beside the project or an ancestor)."""
    for parent in Path(__file__).resolve().parents:
        path = parent / "shared" / "schemes" / "alphatensor_r_plain.npz"
        if path.exists():
            return load_npz_scheme(path, key)
    pytest.skip("shared/schemes/alphatensor_r_plain.npz not found")
