"""Stage `bench`: the kernel built from the learned scheme (build/kernel) against one call of its
BLAS and numpy.matmul, with its additions alone and the numpy reference expansion
(bilinear.native.bench); the plan of this machine from its wisdom, measured first where none is
stored (bilinear.native.wisdom).  The published schemes are timed by the leaderboard stage.
Reads: params.yaml (seed, bench), models/algorithm.json, build/kernel. Writes: plots/bench.csv,
plots/bench_speedup.png, metrics/bench.json."""

from __future__ import annotations

import sys

from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.schemes import SchemeFormatError
from bilinear.checks import Outputs
from bilinear.native.bench import Extras, not_built, run
from bilinear.native.bench_figure import speedup_figure
from bilinear.native.build import read_config
from bilinear.native.kernel import Kernel
from bilinear.params import Field, ParamError, read_sections
from bilinear.stage import stage_main

SPECS = {
    "seed": Field(int, low=0),
    "bench": {
        "sizes": Field(list, item=int, low=1, high=1 << 16, min_len=1),
        "dtypes": Field(list, item=str, min_len=1),
        "threads": Field(list, item=int, low=1, high=256, min_len=1),
        "repeats": Field(int, low=1, high=1000),
        "target_seconds": Field(float, low=0.0, high=3600.0),
        "max_repeats": Field(int, low=1, high=1000),
        "warm_up_max_n": Field(int, low=1, high=1 << 16),
        "pause_seconds": Field(float, low=0.0, high=60.0),
        "numpy_max_n": Field(int, low=0),
        "additions_max_n": Field(int, low=0),
        "expansion_max_n": Field(int, low=0),
        "plan_sizes": Field(list, item=int, low=2, high=1 << 14, min_len=1),
        "plan_repeats": Field(int, low=1, high=100),
        "plan_margin": Field(float, low=0.0, high=0.5),
        "first_call_n": Field(int, low=0, high=1 << 15),
    },
}
COLUMNS = ["n", "dtype", "threads", "levels", "schedule", "rounds", "t_numpy", "t_blas",
           "t_blas_min", "t_blas_max", "t_kernel", "t_kernel_min", "t_kernel_max",
           "speedup_vs_numpy", "speedup_vs_blas", "rel_error", "t_additions", "additions_share",
           "t_expansion", "speedup_vs_expansion"]


@stage_main
def main() -> int:
    """Write metrics/bench.json, plots/bench.csv and plots/bench_speedup.png."""
    try:
        params = read_sections(SPECS)
        cfg = params["bench"]
        for dt in cfg["dtypes"]:
            if dt not in ("float64", "float32"):
                raise ParamError(f"bench.dtypes: expected float64 or float32, got {dt!r}")
        if cfg["max_repeats"] < cfg["repeats"]:
            raise ParamError("bench.max_repeats: must be >= bench.repeats")
        scheme = load_scheme("models/algorithm.json")
        config = read_config("build/kernel")
        if config["built"]:
            kernel = Kernel("build/kernel")
            extras = Extras(additions=Kernel("build/kernel/additions"), expansion_scheme=scheme)
    except (ParamError, SchemeFormatError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not config["built"]:
        result = not_built(config["reason"])
    else:
        result = run(kernel, cfg, params["seed"], extras, build_dir="build/kernel")
    rows = [{c: cell.get(c, "") for c in COLUMNS} for cell in result["cells"].values()]
    out = Outputs()  # written only once all three are rendered
    out.add_json("metrics/bench.json", result, "the bench's timings")
    out.add_csv("plots/bench.csv", rows, COLUMNS)
    out.add_bytes("plots/bench_speedup.png", speedup_figure(rows, note=result.get("reason")))
    out.commit()
    if not config["built"]:
        print(f"bench: nothing to time: {config['reason']}")
        return 0
    big = max(cfg["sizes"])
    summary = ", ".join(f"{c['dtype']} t{c['threads']}: {c['speedup_vs_blas']:.2f}x"
                        for c in result["cells"].values() if c["n"] == big)
    plans = ", ".join(f"{p['dtype']} t{p['threads']} {p['origin']['source']}"
                      for p in result["plans"])
    first = ", ".join(f"{c['dtype']} {c['schedule']} {c['first_over_warm']:.2f}x warm, workspace "
                      f"{c['workspace_over_operand']:.2f} operands" for c in result["first_call"])
    first += "".join(f"; unplanned {c['dtype']} {c['first_over_numpy']:.2f}x numpy"
                     for c in result["first_call_unplanned"])
    cost = result["cost"]
    print(f"bench: N={big} speedup vs BLAS {summary}; plans {plans}; first call at "
          f"N={cfg['first_call_n']}: {first or 'not timed'}; {cost['seconds']:.0f} s, peak "
          f"{cost['peak_rss_bytes'] / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
