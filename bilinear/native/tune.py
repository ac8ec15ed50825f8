"""The levels rule measured on the machine that runs the kernel (a planner, as FFTW's): for a
dtype and thread count, time one gemm call against the kernel with one level in each schedule
at candidate sizes (bilinear.native.timing: warm-up, rotating rounds, medians), and recurse only
at sizes where the chosen schedule's level measured a gain.  Never part of the build; stored per
machine by bilinear.native.wisdom."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from bilinear import seeds
from bilinear.native.timing import Harness

DEFAULT_SIZES = (512, 1024, 2048, 4096)  # candidate square sizes, a doubling chain
DEFAULT_REPEATS = 3
DEFAULT_MARGIN = 0.02  # a level must be this much faster than one gemm call to be used
DEFAULT_PAUSE = 0.05  # seconds idle before each timed call at 2 threads


def threshold(cells: list[dict], margin: float) -> int | None:
    """Smallest measured n from which one level gained at least margin at every larger measured
    size (None: the largest size did not gain, so no recursion anywhere)."""
    best = None
    for cell in sorted(cells, key=lambda c: -c["n"]):
        if cell["gain"] < margin:
            break
        best = cell["n"]
    return best


def choose(thresholds: dict, gains_at_largest: dict) -> str:
    """The schedule with the largest gain at the largest measured size among those that recurse
    at all (threshold not None), else among all (where the time goes, a level must pay)."""
    return max(thresholds, key=lambda s: (thresholds[s] is not None, gains_at_largest[s]))


def candidates(threads: int) -> tuple:
    """Schedules worth measuring at a thread count (hybrid differs from breadth at 2 only)."""
    return ("breadth", "hybrid", "depth") if threads == 2 else ("breadth", "depth")


def _cell(kernel, n: int, dtype, threads: int, schedules, repeats: int, harness: Harness,
          rng) -> dict:
    """One size: medians and spreads of one gemm call and one level in each schedule."""
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    calls = {"gemm": partial(kernel.gemm, A, B, threads=threads)}
    for s in schedules:
        calls[s] = partial(kernel.matmul, A, B, threads=threads, levels=1, schedule=s)
    stats = harness.run(calls, repeats).summary()
    gemm = stats.pop("gemm")
    return {"n": n, "t_gemm": gemm["median"], "t_gemm_min": gemm["min"],
            "t_gemm_max": gemm["max"],
            "levels": {s: {"t": v["median"], "t_min": v["min"], "t_max": v["max"]}
                       for s, v in stats.items()}}


def measure(kernel, dtype, threads: int, sizes=DEFAULT_SIZES, repeats: int = DEFAULT_REPEATS,
            margin: float = DEFAULT_MARGIN, seed: int = 0, schedules: tuple | None = None,
            pause: float | None = None, progress: Callable | None = None) -> dict:
    """Plan for (dtype, threads): per size the median (and min, max) of `repeats` rotating
    rounds of one gemm call and of one level in each schedule (default: candidates), per
    schedule the gain 1 - t_level / t_gemm (medians) and the overhead of the level beyond its
    leaf products where the half size was measured too, the gemm rate (GF/s), and per schedule
    the recursion threshold; the plan takes one schedule (see choose) and its threshold.
    ceiling: per levels count, the speedup over one gemm call at the largest size that leaf
    gemm calls alone would give (additions free; cubic formats only).  pause: idle seconds
    before each timed call (None: DEFAULT_PAUSE at 2 threads, else 0); progress(n) after
    each size."""
    dtype = np.dtype(dtype)
    schedules = candidates(threads) if schedules is None else schedules
    if pause is None:
        pause = DEFAULT_PAUSE if threads > 1 else 0.0
    harness = Harness(pause=pause)
    rng = seeds.stream(seed, seeds.NATIVE_TUNE)
    cells = []
    for n in sorted(sizes):
        cells.append(_cell(kernel, n, dtype, threads, schedules, repeats, harness, rng))
        if progress is not None:
            progress(n)
    by_n = {c["n"]: c for c in cells}
    rank = kernel.config["rank"]
    fn, fm, fp = kernel.fmt
    for c in cells:
        n = c["n"]
        c["gemm_gflops"] = 2.0 * n ** 3 / c["t_gemm"] / 1e9
        half = by_n.get(n // 2)
        for level in c["levels"].values():
            level["gain"] = 1.0 - level["t"] / c["t_gemm"]
            if fn == fm == fp == 2 and half is not None:
                level["overhead"] = level["t"] - rank * half["t_gemm"]
    largest = max(cells, key=lambda c: c["n"])
    ceiling = []  # free additions: the largest size's gemm against rank^L leaf gemm calls
    if fn == fm == fp:
        leaf, level = largest["n"] // fn, 1
        while leaf in by_n:
            ceiling.append({"levels": level, "leaf_n": leaf,
                            "speedup": largest["t_gemm"] / (rank ** level * by_n[leaf]["t_gemm"])})
            leaf, level = leaf // fn, level + 1
    thresholds = {s: threshold([{"n": c["n"], "gain": c["levels"][s]["gain"]} for c in cells],
                               margin) for s in schedules}
    schedule = choose(thresholds, {s: largest["levels"][s]["gain"] for s in schedules})
    return {"dtype": dtype.name, "threads": threads, "margin": margin, "repeats": repeats,
            "schedule": schedule, "threshold": thresholds[schedule], "thresholds": thresholds,
            "ceiling": ceiling, "cells": cells}


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


def schedule(plan: dict, size: int | None = None) -> str:
    """The schedule of a product whose largest dimension is size by a plan: the plan's own up to
    the largest size it measured (and where size is None); beyond it depth-first where the plan
    recurses, whose workspace stays below one operand while breadth-first's grows with the
    levels, and no measurement says breadth-first pays there."""
    chosen = plan.get("schedule", "breadth")
    cells = plan.get("cells") or []
    if size is None or not cells or plan.get("threshold") is None:
        return chosen
    return chosen if size <= max(c["n"] for c in cells) else "depth"


def explain(plan: dict) -> list[str]:
    """Lines saying what a plan chose and why: per schedule its gain at each measured size and
    the threshold it gives."""
    where = (f"recurse from N={plan['threshold']}" if plan["threshold"] is not None
             else "never recurse (one gemm call at every size)")
    beyond = (f"; depth-first above N={max(c['n'] for c in plan['cells'])}, the largest measured"
              if plan["threshold"] is not None and plan["schedule"] != "depth" else "")
    lines = [f"{plan['dtype']}, {plan['threads']} thread(s): {plan['schedule']}-first, {where}"
             f" (a level must gain at least {100 * plan['margin']:.1f}% at every larger size)"
             f"{beyond}"]
    for s, cut in plan["thresholds"].items():
        gains = ", ".join(f"N={c['n']} {100 * c['levels'][s]['gain']:+.1f}%" for c in plan["cells"])
        lines.append(f"  {s:8s} {gains}; threshold {cut if cut is not None else 'none'}")
    return lines
