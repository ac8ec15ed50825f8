"""Stage `build_reference`: compile the published reference schemes (Strassen's, Winograd's
variant, AlphaTensor's <3,3,3> and <4,4,4>; bilinear.native.imported) into build/reference/<name>/
for the leaderboard and the kernel designs; independent of the learned scheme.
Reads: params.yaml (native), schemes/alphatensor_r_plain.npz. Writes: build/reference."""

from __future__ import annotations

import sys

from bilinear.native.imported import build_references
from bilinear.native.plan import SchemeCompileError
from bilinear.params import Field, ParamError, read_sections
from bilinear.stage import stage_main

SPECS = {"native": {"max_levels": Field(int, low=0, high=12), "split": Field(bool)}}


@stage_main
def main() -> int:
    """Build every reference kernel into build/reference/."""
    try:
        cfg = read_sections(SPECS)["native"]
        configs = build_references("build/reference", cfg)
    except (ParamError, SchemeCompileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("build_reference: " + ", ".join(
        f"{name} <{','.join(map(str, c['format']))}> rank {c['rank']}"
        for name, c in configs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
