"""First call against warm calls, as a new user meets the kernel: a fresh process loads a build,
times its first product, then warm ones; the workspace it needs against one operand.  And the
first call where this machine has no plan (an empty plan cache) against numpy.matmul."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from bilinear import seeds
from bilinear.native.kernel import Kernel
from bilinear.native.timing import Harness, peak_rss_bytes, spread

ROOT = Path(__file__).resolve().parents[2]


def measure_here(build_dir: str, n: int, dtype: str, threads: int, levels: int, schedule: str,
                 warm_calls: int = 2, seed: int = 0) -> dict:
    """In this process: seconds of the first call of a fresh Kernel object and the median of
    warm_calls later ones (levels in schedule), and the workspace bytes against the bytes of
    one operand, and the process's peak resident memory."""
    kernel = Kernel(build_dir)
    rng = seeds.stream(seed, seeds.NATIVE_FIRST_CALL, n)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    call = {"kernel": lambda: kernel.matmul(A, B, threads=threads, levels=levels,
                                            schedule=schedule)}
    harness = Harness()
    first = harness.warm_up(call)["kernel"]
    warm = spread(harness.rounds(call, warm_calls)["kernel"])
    workspace = kernel.workspace_bytes(n, n, n, A.dtype, levels, threads, schedule=schedule)
    return {"n": n, "dtype": dtype, "threads": threads, "levels": levels, "schedule": schedule,
            "t_first": first, "t_warm": warm["median"], "t_warm_min": warm["min"],
            "t_warm_max": warm["max"], "first_over_warm": first / warm["median"],
            "workspace_bytes": workspace, "workspace_over_operand": workspace / A.nbytes,
            "peak_rss_bytes": peak_rss_bytes()}


def measure_unplanned_here(build_dir: str, n: int, dtype: str, threads: int,
                           warm_calls: int = 2, seed: int = 0) -> dict:
    """In this process, whose plan cache is empty: seconds of a fresh Kernel's first call with
    no levels given (the default plan), then of numpy.matmul's first call of the same product
    and the median of warm_calls later ones, numpy's BLAS limited to the same thread count."""
    kernel = Kernel(build_dir)
    rng = seeds.stream(seed, seeds.NATIVE_FIRST_CALL, n)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    harness = Harness()
    first = harness.warm_up({"kernel": lambda: kernel.matmul(A, B, threads=threads)})["kernel"]
    with threadpool_limits(limits=threads, user_api="blas"):
        numpy = harness.run({"numpy": lambda: np.matmul(A, B)}, warm_calls)
    warm = spread(numpy.times["numpy"])
    return {"n": n, "dtype": dtype, "threads": threads,
            "levels": kernel.levels_for(n, n, n, A.dtype, threads), "t_first": first,
            "t_numpy_first": numpy.warm["numpy"], "t_numpy": warm["median"],
            "first_over_numpy": first / warm["median"],
            "first_over_numpy_first": first / numpy.warm["numpy"]}


def _fresh(args: list[str], timeout: float, env: dict | None = None) -> tuple[dict, str]:
    """(JSON printed, stderr) of this module run with args in a fresh Python process."""
    done = subprocess.run([sys.executable, "-m", "bilinear.native.first_call", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=True,
                          env={**os.environ, **(env or {})})
    return json.loads(done.stdout), done.stderr


def measure(build_dir: str | Path, n: int, dtype: str, threads: int, levels: int,
            schedule: str, timeout: float = 600.0) -> dict:
    """measure_here in a fresh Python process (nothing loaded, allocated or touched before)."""
    return _fresh([str(Path(build_dir).resolve()), str(n), dtype, str(threads), str(levels),
                   schedule], timeout)[0]


def measure_unplanned(build_dir: str | Path, n: int, dtype: str, threads: int = 1,
                      timeout: float = 600.0) -> dict:
    """measure_unplanned_here in a fresh Python process whose plan cache is an empty folder,
    with the notice the kernel printed on stderr."""
    with tempfile.TemporaryDirectory(prefix="bl_noplan_") as empty:
        out, err = _fresh(["unplanned", str(Path(build_dir).resolve()), str(n), dtype,
                           str(threads)], timeout, {"BILINEAR_CACHE_DIR": empty})
    return out | {"notice": err.strip()}


if __name__ == "__main__":
    if sys.argv[1] == "unplanned":
        build, size, dt, nthreads = sys.argv[2:6]
        print(json.dumps(measure_unplanned_here(build, int(size), dt, int(nthreads))))
    else:
        build, size, dt, nthreads, nlevels, sched = sys.argv[1:7]
        print(json.dumps(measure_here(build, int(size), dt, int(nthreads), int(nlevels),
                                      sched)))
