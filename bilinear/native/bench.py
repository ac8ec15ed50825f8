"""Benchmark of the kernel built from the learned scheme against one call of its BLAS and
numpy.matmul: one process, the plan of this machine first (bilinear.native.wisdom), then per
cell a warm-up round (which also measures errors; on a smaller block for the largest cells) and
rotating rounds (bilinear.native.timing),
medians with their spread, errors against a float64 classical product without full-size
temporaries (numexpr), duration and peak memory recorded."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bilinear import seeds
from bilinear.algebra import expand
from bilinear.algebra.schemes import Scheme
from bilinear.native import first_call, tune, wisdom
from bilinear.native.accuracy import frobenius, reference, rel_error
from bilinear.native.kernel import Kernel
from bilinear.native.machine import machine_info
from bilinear.native.timing import Harness, peak_rss_bytes, spread


@dataclass(frozen=True)
class Extras:
    """Optional contenders: the additions-only diagnostic build of the kernel (`additions`:
    recursion and addition passes, no leaf products) and the numpy reference expansion of the
    scheme (`expansion_scheme`, bilinear.algebra.expand)."""

    additions: Kernel | None = None
    expansion_scheme: Scheme | None = None


def contenders(kernel: Kernel, A: np.ndarray, B: np.ndarray, threads: int, levels: int,
               cfg: dict, extras: Extras = Extras()) -> dict:
    """name -> zero-argument callable: 'blas' (one gemm call), 'kernel' (the plan's levels and
    schedule), 'numpy' up to cfg's numpy_max_n, and where the kernel recurses 'additions' up to
    additions_max_n and 'expansion' up to expansion_max_n (same levels).  numpy's BLAS threads
    are not limited here: call them under threadpool_limits."""
    n = A.shape[0]
    out = {"blas": lambda: kernel.gemm(A, B, threads=threads),
           "kernel": lambda: kernel.matmul(A, B, threads=threads, levels=levels)}
    if n <= cfg["numpy_max_n"]:
        out["numpy"] = lambda: np.matmul(A, B)
    if levels > 0 and extras.additions is not None and n <= cfg["additions_max_n"]:
        out["additions"] = lambda: extras.additions.matmul(
            A, B, threads=threads, levels=levels, schedule=kernel.schedule_for(A.dtype, threads, n),
            diagnostic=True)
    if levels > 0 and extras.expansion_scheme is not None and n <= cfg["expansion_max_n"]:
        out["expansion"] = lambda: expand.multiply(extras.expansion_scheme, A, B,
                                                   cutoff=1 << 62, min_levels=levels)
    return out


def _rounds(gemm_seconds: float, cfg: dict) -> int:
    """Timed rounds of a cell whose gemm call takes gemm_seconds (see run_cell)."""
    return max(cfg["repeats"], min(cfg["max_repeats"],
                                   math.ceil(cfg["target_seconds"] / max(gemm_seconds, 1e-9))))


def run_cell(kernel: Kernel, A, B, ref, ref_norm: float, threads: int, cfg: dict,
             extras: Extras = Extras()) -> dict:
    """Time one (n, dtype, threads) cell: a warm-up round measuring each error, then rounds
    rotating (at least cfg's repeats; more, up to max_repeats, while one gemm call takes less
    than target_seconds over them), pause_seconds idle before each call at 2+ threads; numpy's
    BLAS limited to the cell's thread count.  Above cfg's warm_up_max_n, where a call takes
    seconds, the warm-up runs on the operands' leading block of that size (threads, code
    paths) and the errors are measured on the first timed round's results.  Per contender the
    median, min and max."""
    n = A.shape[0]
    levels = kernel.levels_for(n, n, n, A.dtype, threads)
    calls = contenders(kernel, A, B, threads, levels, cfg, extras)
    harness = Harness(pause=cfg["pause_seconds"] if threads > 1 else 0.0)
    errors = {}

    def check(name, out):
        if name != "additions":  # the diagnostic build computes no product
            errors[name] = rel_error(out, ref, ref_norm)

    with threadpool_limits(limits=threads, user_api="blas"):
        if n <= cfg["warm_up_max_n"]:
            rounds = _rounds(harness.warm_up(calls, check)["blas"], cfg)
            times = harness.rounds(calls, rounds)
        else:  # seconds per call: warm up on the leading block, errors from the first round
            m = cfg["warm_up_max_n"]
            a, b = np.ascontiguousarray(A[:m, :m]), np.ascontiguousarray(B[:m, :m])
            small = contenders(kernel, a, b, threads, kernel.levels_for(m, m, m, A.dtype, threads),
                               cfg, extras)
            rounds = _rounds(harness.warm_up(small)["blas"] * (n / m) ** 3, cfg)
            first = harness.warm_up(calls, check)  # timed round 1 in order, errors measured
            names = list(calls)  # the later rounds go on rotating from the second contender
            later = harness.rounds({k: calls[k] for k in names[1:] + names[:1]}, rounds - 1)
            times = {k: [first[k], *later[k]] for k in names}
    stats = {name: spread(t) for name, t in times.items()}
    med = {name: s["median"] for name, s in stats.items()}
    cell = {"n": n, "dtype": A.dtype.name, "threads": threads, "levels": levels,
            "schedule": kernel.schedule_for(A.dtype, threads, n), "rounds": rounds}
    for name, s in stats.items():
        cell |= {f"t_{name}": s["median"], f"t_{name}_min": s["min"], f"t_{name}_max": s["max"]}
        if name != "additions":
            cell[f"rel_error_{name}"] = errors[name]
    cell["rel_error"] = errors["kernel"]
    cell["speedup_vs_blas"] = med["blas"] / med["kernel"]
    cell["speedup_vs_blas_range"] = [stats["blas"]["min"] / stats["kernel"]["max"],
                                     stats["blas"]["max"] / stats["kernel"]["min"]]
    if "numpy" in med:
        cell["speedup_vs_numpy"] = med["numpy"] / med["kernel"]
    if "additions" in med:
        cell["additions_share"] = med["additions"] / med["kernel"]
    if "expansion" in med:
        cell["speedup_vs_expansion"] = med["expansion"] / med["kernel"]
    return cell


def plan(kernel: Kernel, cfg: dict, seed: int, extras: Extras = Extras()) -> list[dict]:
    """The plan of every (dtype, threads) of the benchmark: the one stored for this machine,
    else measured now and stored (bilinear.native.wisdom); given to the kernel and the
    additions build.  Each plan carries its origin (key, file, 'cache' or 'measured')."""
    plans = []
    todo = [(dt, t) for dt in cfg["dtypes"] for t in sorted({min(t, 2) for t in cfg["threads"]})]
    for dt, threads in tqdm(todo, desc="plan", unit="plan"):
        with threadpool_limits(limits=threads, user_api="blas"):
            got, origin = wisdom.obtain(kernel, dt, threads, sizes=cfg["plan_sizes"],
                                        repeats=cfg["plan_repeats"], margin=cfg["plan_margin"],
                                        seed=seed, pause=cfg["pause_seconds"] if threads > 1
                                        else 0.0)
        for k in (kernel, extras.additions):
            if k is not None:
                k.set_plan(got)
        plans.append(got | {"origin": origin})
    return plans


def run(kernel: Kernel, cfg: dict, seed: int, extras: Extras = Extras(),
        build_dir: str | None = None) -> dict:
    """All cells of the benchmark ({sizes} x {dtypes} x {threads}, see run_cell) plus the
    machine block and the plans (see plan); then, given the kernel's build_dir, its first call
    in a fresh process at 1 thread and N = cfg's first_call_n (0: not timed) in each schedule,
    at the plan's levels (at least one), and, with no plan stored, against numpy.matmul (see
    bilinear.native.first_call).  Records the wall
    seconds and the peak resident memory of this process and of the first-call processes."""
    start = time.perf_counter()
    machine = machine_info()
    machine["isa_level"] = kernel.set_isa(-1)
    plans = plan(kernel, cfg, seed, extras)
    cells = {}
    todo = [(n, dt) for n in cfg["sizes"] for dt in cfg["dtypes"]]
    bar = tqdm(total=len(todo) * len(cfg["threads"]), desc="bench", unit="cell")
    for n, dt in todo:
        rng = np.random.default_rng([seed, seeds.NATIVE_BENCH, n])
        A = rng.standard_normal((n, n), dtype=dt)  # no float64 temporary for float32
        B = rng.standard_normal((n, n), dtype=dt)
        with threadpool_limits(limits=max(cfg["threads"]), user_api="blas"):
            ref = reference(A, B)
        ref_norm = frobenius(ref)
        for threads in cfg["threads"]:
            bar.set_postfix_str(f"n={n} {dt} t={threads}")
            cells[f"{dt}_t{threads}_n{n}"] = run_cell(kernel, A, B, ref, ref_norm, threads, cfg,
                                                      extras)
            bar.update()
        del A, B, ref
    bar.close()
    first, unplanned = [], []
    if cfg["first_call_n"] > 0 and build_dir is not None:
        n = cfg["first_call_n"]
        todo = [(dt, s) for dt in cfg["dtypes"] for s in tune.candidates(1)]
        for dt, schedule in tqdm(todo, desc="first call", unit="process"):
            planned = kernel.levels_for(n, n, n, dt, 1)
            first.append(first_call.measure(build_dir, n, dt, 1, max(planned, 1), schedule)
                         | {"plan_levels": planned, "plan_schedule": kernel.schedule_for(dt, 1, n)})
        unplanned = [first_call.measure_unplanned(build_dir, n, dt) for dt in cfg["dtypes"]]
    machine["load_average_end"] = list(os.getloadavg())
    machine["kernel_blas"] = kernel.config["openblas"]
    return {"built": True, "machine": machine, "plans": plans, "cells": cells, "first_call": first,
            "first_call_unplanned": unplanned,
            "kernel": {k: kernel.config[k] for k in ("format", "rank", "additions_per_level",
                                                      "max_levels", "split")},
            "cost": {"seconds": time.perf_counter() - start, "peak_rss_bytes": peak_rss_bytes(),
                     "peak_rss_bytes_first_call": max((c["peak_rss_bytes"] for c in first),
                                                      default=None)}}


def not_built(reason: str) -> dict:
    """The bench's record where no kernel was built (a learned scheme that is not exact): the
    machine and the reason, no cells."""
    return {"built": False, "reason": reason, "machine": machine_info(), "plans": [], "cells": {},
            "first_call": [], "first_call_unplanned": [],
            "cost": {"seconds": 0.0, "peak_rss_bytes": peak_rss_bytes(),
                     "peak_rss_bytes_first_call": None}}
