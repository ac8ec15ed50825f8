"""Stage `leaderboard`: the published reference schemes' kernels (build/reference/, see
bilinear.native.imported) timed side by side against one gemm call (bilinear.native.leaderboard)
-> metrics/leaderboard.json (wall-clock: NOT deterministic); independent of the learned scheme.
Reads: params.yaml (seed, leaderboard), build/reference. Writes: metrics/leaderboard.json."""

from __future__ import annotations

import sys

from bilinear.io import write_json
from bilinear.native import leaderboard
from bilinear.native.imported import REFERENCES
from bilinear.native.kernel import Kernel
from bilinear.params import Field, ParamError, read_sections
from bilinear.stage import stage_main

SPECS = {
    "seed": Field(int, low=0),
    "leaderboard": {
        "n": Field(int, low=1, high=1 << 15),
        "dtype": Field(str),
        "leaf_min": Field(int, low=1, high=1 << 14),
        "repeats": Field(int, low=1, high=1000),
    },
}
OUT = "metrics/leaderboard.json"


@stage_main
def main() -> int:
    """Time every reference kernel at every candidate levels count and schedule, write OUT."""
    try:
        params = read_sections(SPECS)
        cfg = params["leaderboard"]
        if cfg["dtype"] not in ("float64", "float32"):
            raise ParamError(f"leaderboard.dtype: expected float64 or float32, got "
                             f"{cfg['dtype']!r}")
        kernels = {name: Kernel(f"build/reference/{name}") for name in REFERENCES}
    except (ParamError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    board = leaderboard.run(kernels, cfg["n"], cfg["dtype"], cfg["leaf_min"], cfg["repeats"],
                            params["seed"])
    write_json(OUT, board)
    print("leaderboard: " + ", ".join(f"{r['scheme']} {r['speedup_vs_blas']:.2f}x"
                                      for r in board["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
