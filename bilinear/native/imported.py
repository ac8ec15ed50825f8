"""Published exact schemes compiled next to the learned one, for the bench's leaderboard."""

from __future__ import annotations

from pathlib import Path

from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.native.build import build

ALPHATENSOR = Path("schemes") / "alphatensor_r_plain.npz"
IMPORTED = ("3x3x3", "4x4x4")  # formats of the AlphaTensor npz compiled for the leaderboard


def build_imported(out_root: str | Path, settings: dict, npz: str | Path = ALPHATENSOR) -> dict:
    """Compile each IMPORTED scheme of npz into out_root/<format>; returns their configs."""
    return {key: build(load_npz_scheme(npz, key), Path(out_root) / key, settings)
            for key in IMPORTED}
