"""The levels rule measured on the machine that runs the kernel (a planner, as FFTW's): for a
dtype and thread count, time one gemm call against the kernel with one level at candidate sizes
and recurse only at sizes where that level measured a gain.  Never part of the build."""

from __future__ import annotations

import time
from functools import partial

import numpy as np

DEFAULT_SIZES = (256, 512, 1024, 2048)  # candidate square sizes, a doubling chain
DEFAULT_REPEATS = 3
DEFAULT_MARGIN = 0.02  # a level must be this much faster than one gemm call to be used


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def threshold(cells: list[dict], margin: float) -> int | None:
    """Smallest measured n from which one level gained at least margin at every larger measured
    size (None: the largest size did not gain, so no recursion anywhere)."""
    best = None
    for cell in sorted(cells, key=lambda c: -c["n"]):
        if cell["gain"] < margin:
            break
        best = cell["n"]
    return best


def measure(kernel, dtype, threads: int, sizes=DEFAULT_SIZES, repeats: int = DEFAULT_REPEATS,
            margin: float = DEFAULT_MARGIN, seed: int = 0) -> dict:
    """Plan for (dtype, threads): per size the fastest of repeats of one gemm call and of one
    level (contenders alternating; medians recorded too), the gain 1 - t_level / t_gemm, the
    gemm rate (GF/s), the overhead of the level beyond its leaf products where the half size
    was measured too (additions and cache interference), and the recursion threshold."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    cells = []
    for n in sorted(sizes):
        A = rng.standard_normal((n, n)).astype(dtype)
        B = rng.standard_normal((n, n)).astype(dtype)
        gemm = partial(kernel.gemm, A, B, threads=threads)
        level = partial(kernel.matmul, A, B, threads=threads, levels=1)
        gemm(), level()  # warm-up: workspace, BLAS buffers, threads
        t_gemm, t_level = [], []
        for _ in range(repeats):
            t_gemm.append(_median_time(gemm, 1))
            t_level.append(_median_time(level, 1))
        # minima: other processes on the machine only ever add time
        cells.append({"n": n, "t_gemm": min(t_gemm), "t_level": min(t_level),
                      "t_gemm_median": float(np.median(t_gemm)),
                      "t_level_median": float(np.median(t_level))})
    by_n = {c["n"]: c for c in cells}
    rank = kernel.config["rank"]
    fn, fm, fp = kernel.fmt
    for c in cells:
        n = c["n"]
        c["gain"] = 1.0 - c["t_level"] / c["t_gemm"]
        c["gemm_gflops"] = 2.0 * n ** 3 / c["t_gemm"] / 1e9
        half = by_n.get(n // 2)
        if fn == fm == fp == 2 and half is not None:
            c["level_overhead"] = c["t_level"] - rank * half["t_gemm"]
    return {"dtype": dtype.name, "threads": threads, "margin": margin, "repeats": repeats,
            "threshold": threshold(cells, margin), "cells": cells}


def levels(plan: dict, fmt: tuple, max_levels: int, M: int, K: int, N: int) -> int:
    """Recursion levels of an M x K x N product by a measured plan: recurse while every
    dimension is at or above the plan's threshold (none if it has none), at most max_levels."""
    cutoff = plan["threshold"]
    count = 0
    n, m, p = fmt
    while cutoff is not None and count < max_levels and min(M, K, N) >= cutoff \
            and M >= n and K >= m and N >= p:
        M, K, N, count = M // n, K // m, N // p, count + 1
    return count
