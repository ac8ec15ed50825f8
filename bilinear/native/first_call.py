"""First call against warm calls, as a new user meets the kernel: a fresh process loads a build,
times its first product, then warm ones; the workspace it needs against one operand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def measure(build_dir: str | Path, n: int, dtype: str, threads: int, levels: int,
            schedule: str, timeout: float = 600.0) -> dict:
    """measure_here in a fresh Python process (nothing loaded, allocated or touched before)."""
    args = [sys.executable, "-m", "bilinear.native.first_call", str(Path(build_dir).resolve()),
            str(n), dtype, str(threads), str(levels), schedule]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=True)
    return json.loads(done.stdout)


if __name__ == "__main__":
    build, size, dt, nthreads, nlevels, sched = sys.argv[1:7]
    print(json.dumps(measure_here(build, int(size), dt, int(nthreads), int(nlevels), sched)))
