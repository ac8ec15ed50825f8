"""Schemes and build helpers shared by the native-kernel tests."""

from __future__ import annotations

from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.schemes import Scheme
from tests.test_schemes import known_schemes_npz

TEST_SETTINGS = {"max_levels": 3, "split": True}
# fixed plans (recurse from 8 up) so tests do not depend on timings
TEST_PLANS = [{"dtype": dt, "threads": t, "threshold": 8} for dt in ("float64", "float32")
              for t in (1, 2)]


def alphatensor(key: str) -> Scheme:
    """A scheme of the AlphaTensor npz kept in the project (schemes/)."""
    return load_npz_scheme(known_schemes_npz(), key)
