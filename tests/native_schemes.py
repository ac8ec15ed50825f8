"""Schemes and build helpers shared by the native-kernel tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bilinear.schemes import Scheme, load_npz_scheme

TEST_SETTINGS = {"leaf_min": {"float64_1": 4, "float64_2": 4, "float32_1": 4, "float32_2": 4},
                 "max_levels": 3, "split": True}


def winograd() -> Scheme:
    """Winograd's 1971 variant of Strassen's scheme (15 additions with its shared sums)."""
    U = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, -1, -1], [0, 0, 0, 1], [0, 0, 1, 1], [-1, 0, 1, 1],
         [1, 0, -1, 0]]
    V = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, -1, -1, 1], [-1, 1, 0, 0], [1, -1, 0, 1],
         [0, -1, 0, 1]]
    W = [[1, 1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 1, 0], [1, 0, 0, -1, 0, 1, 1],
         [1, 0, 0, 0, 1, 1, 1]]
    return Scheme((2, 2, 2), U, V, W, {"source": "Winograd 1971"})


def alphatensor(key: str) -> Scheme:
    """A scheme of the shared AlphaTensor npz (found beside the project or an ancestor)."""
    for parent in Path(__file__).resolve().parents:
        path = parent / "shared" / "schemes" / "alphatensor_r_plain.npz"
        if path.exists():
            return load_npz_scheme(path, key)
    pytest.skip("shared/schemes/alphatensor_r_plain.npz not found")
