"""Stage `bench`: time the native kernel against numpy.matmul and the leaf BLAS (and Winograd's
kernel, the kernel's additions alone and the numpy reference expansion; bilinear.native.bench)."""

from __future__ import annotations

import sys

from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.schemes import SchemeFormatError
from bilinear.io import write_csv, write_json
from bilinear.native import leaderboard
from bilinear.native.bench import Extras, run
from bilinear.native.bench_figure import speedup_figure
from bilinear.native.imported import IMPORTED
from bilinear.native.kernel import Kernel
from bilinear.params import Field, ParamError, read_sections

SPECS = {
    "seed": Field(int, low=0),
    "bench": {
        "sizes": Field(list, item=int, low=1, high=1 << 16, min_len=1),
        "dtypes": Field(list, item=str, min_len=1),
        "threads": Field(list, item=int, low=1, high=256, min_len=1),
        "repeats": Field(int, low=1, high=1000),
        "target_seconds": Field(float, low=0.0, high=3600.0),
        "max_repeats": Field(int, low=1, high=1000),
        "pause_seconds": Field(float, low=0.0, high=60.0),
        "winograd_max_n": Field(int, low=0),
        "expansion_max_n": Field(int, low=0),
        "plan_sizes": Field(list, item=int, low=2, high=1 << 14, min_len=1),
        "plan_repeats": Field(int, low=1, high=100),
        "plan_margin": Field(float, low=0.0, high=0.5),
        "first_call_n": Field(int, low=0, high=1 << 15),
        "leaderboard_n": Field(int, low=0, high=1 << 15),
        "leaderboard_dtype": Field(str),
        "leaderboard_leaf_min": Field(int, low=1, high=1 << 14),
    },
}
COLUMNS = ["n", "dtype", "threads", "levels", "t_numpy", "t_blas", "t_kernel", "speedup_vs_numpy",
           "speedup_vs_blas", "rel_error", "t_kernel_alt", "speedup_alt_vs_blas", "t_winograd",
           "kernel_over_winograd", "t_additions", "additions_share", "t_expansion",
           "speedup_vs_expansion"]


def main() -> int:
    """Write metrics/bench.json, plots/bench.csv and plots/bench_speedup.png."""
    try:
        params = read_sections(SPECS)
        cfg = params["bench"]
        for dt in cfg["dtypes"]:
            if dt not in ("float64", "float32"):
                raise ParamError(f"bench.dtypes: expected float64 or float32, got {dt!r}")
        if cfg["leaderboard_dtype"] not in ("float64", "float32"):
            raise ParamError("bench.leaderboard_dtype: expected float64 or float32, got "
                             f"{cfg['leaderboard_dtype']!r}")
        if cfg["max_repeats"] < cfg["repeats"]:
            raise ParamError("bench.max_repeats: must be >= bench.repeats")
        scheme = load_scheme("models/algorithm.json")
    except (ParamError, SchemeFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    extras = Extras(winograd=Kernel("build/kernel/winograd"),
                    additions=Kernel("build/kernel/additions"), expansion_scheme=scheme)
    result = run(Kernel("build/kernel"), cfg, params["seed"], extras, build_dir="build/kernel")
    if cfg["leaderboard_n"] > 0:
        board = {"learned": Kernel("build/kernel"), "winograd": extras.winograd,
                 **{f"alphatensor_{key}": Kernel(f"build/kernel/leaderboard/{key}")
                    for key in IMPORTED}}
        result["leaderboard"] = leaderboard.run(board, cfg["leaderboard_n"],
                                                cfg["leaderboard_dtype"],
                                                cfg["leaderboard_leaf_min"], cfg["repeats"],
                                                params["seed"])
    rows = [{c: cell.get(c, "") for c in COLUMNS} for cell in result["cells"].values()]
    write_json("metrics/bench.json", result)
    write_csv("plots/bench.csv", rows, COLUMNS)
    speedup_figure(rows, "plots/bench_speedup.png")
    big = max(cfg["sizes"])
    summary = ", ".join(f"{c['dtype']} t{c['threads']}: {c['speedup_vs_blas']:.2f}x"
                        for c in result["cells"].values() if c["n"] == big)
    first = ", ".join(f"{c['dtype']} {c['schedule']} {c['first_over_warm']:.2f}x warm, workspace "
                      f"{c['workspace_over_operand']:.2f} operands" for c in result["first_call"])
    board = ", ".join(f"{r['scheme']} {r['speedup_vs_blas']:.2f}x"
                      for r in result.get("leaderboard", {}).get("rows", []))
    print(f"bench: N={big} speedup vs BLAS {summary}; leaderboard {board or 'not run'}; "
          f"first call at N={cfg['first_call_n']}: {first or 'not timed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
