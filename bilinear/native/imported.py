"""Published exact schemes compiled as references, independent of the learned scheme: Strassen's
(the kernel designs' scheme), Winograd's variant (15 additions) and AlphaTensor's <3,3,3>:23 and
<4,4,4>:49 (the leaderboard)."""

from __future__ import annotations

from pathlib import Path

from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.schemes import strassen
from bilinear.native.build import build
from bilinear.native.winograd import winograd

ALPHATENSOR = Path("schemes") / "alphatensor_r_plain.npz"
IMPORTED = ("3x3x3", "4x4x4")  # formats of the AlphaTensor npz compiled for the leaderboard
REFERENCES = ("strassen", "winograd", *(f"alphatensor_{key}" for key in IMPORTED))


def build_references(out_root: str | Path, settings: dict, npz: str | Path = ALPHATENSOR) -> dict:
    """Compile every scheme of REFERENCES into out_root/<name>; returns name -> config."""
    schemes = {"strassen": strassen(), "winograd": winograd(),
               **{f"alphatensor_{key}": load_npz_scheme(npz, key) for key in IMPORTED}}
    return {name: build(schemes[name], Path(out_root) / name, settings) for name in REFERENCES}
