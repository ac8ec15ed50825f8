"""Benchmark of the kernel against numpy.matmul and the leaf BLAS: one process, contenders
alternating round by round, medians and minima, errors against a float64 classical product."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm import tqdm

from bilinear.algebra import expand
from bilinear.algebra.schemes import Scheme
from bilinear.native import first_call, tune
from bilinear.native.kernel import Kernel

SEED_OFFSET = 7000  # random operands of the benchmark: seed + SEED_OFFSET + n


def rel_error(C: np.ndarray, ref: np.ndarray) -> float:
    """Normwise relative error ||C - ref||_F / ||ref||_F computed in float64."""
    diff = np.linalg.norm(C.astype(np.float64, copy=False) - ref)
    return float(diff / max(np.linalg.norm(ref), np.finfo(np.float64).tiny))


SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "avx512bw")


def _cpuinfo(key: str) -> str | None:
    """The first value of key in /proc/cpuinfo (None where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh
                         if line.split(":", 1)[0].strip() == key), None)
    except OSError:
        return None


def machine_info() -> dict:
    """CPU model and SIMD flags, cores, load average and the BLAS libraries loaded in this
    process (their architecture field is OpenBLAS's kernel family)."""
    model = _cpuinfo("model name") or platform.processor()
    flags = set((_cpuinfo("flags") or "").split())
    blas = [{k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            | {"library": os.path.basename(lib.get("filepath", ""))}
            for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return {"cpu": model, "cpu_flags": [f for f in SIMD_FLAGS if f in flags],
            "cores": os.cpu_count(), "load_average": list(os.getloadavg()),
            "python": platform.python_version(), "numpy": np.__version__, "blas": blas}


def _timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


@dataclass(frozen=True)
class Extras:
    """Optional contenders: Winograd's 15-addition kernel (`winograd`), the additions-only
    diagnostic build of the kernel (`additions`: recursion and addition passes, no leaf
    products) and the numpy reference expansion of a scheme (`expansion_scheme`,
    bilinear.algebra.expand)."""

    winograd: Kernel | None = None
    additions: Kernel | None = None
    expansion_scheme: Scheme | None = None


def contenders(kernel: Kernel, A: np.ndarray, B: np.ndarray, threads: int, levels: int,
               extras: Extras = Extras()) -> dict:
    """name -> zero-argument callable: the kernel in the plan's schedule, at 2 threads also
    breadth-first in the parallel mode other than the build's default ('kernel_alt'); each
    given extra at the same levels and mode ('winograd', 'additions', 'expansion').

    numpy's BLAS threads are not limited here: call them under threadpool_limits."""

    split = kernel.config["split"]
    out = {"numpy": lambda: np.matmul(A, B),
           "blas": lambda: kernel.gemm(A, B, threads=threads),
           "kernel": lambda: kernel.matmul(A, B, threads=threads, levels=levels, split=split)}
    if threads == 2:  # breadth-first with the other parallel mode
        out["kernel_alt"] = lambda: kernel.matmul(A, B, threads=2, levels=levels,
                                                  split=not split, schedule="breadth")
    if extras.winograd is not None:
        out["winograd"] = lambda: extras.winograd.matmul(A, B, threads=threads, levels=levels,
                                                         split=split)
    if extras.additions is not None:
        out["additions"] = lambda: extras.additions.matmul(A, B, threads=threads, levels=levels,
                                                           split=split, diagnostic=True)
    if extras.expansion_scheme is not None:  # exactly `levels` levels of the scheme, then numpy
        out["expansion"] = lambda: expand.multiply(extras.expansion_scheme, A, B,
                                                   cutoff=1 << 62, min_levels=levels)
    return out


def run_cell(kernel: Kernel, A, B, ref, threads: int, cfg: dict,
             extras: Extras = Extras()) -> dict:
    """Time one (n, dtype, threads) cell: warm-up round, then rotating rounds; numpy's BLAS is
    limited to the cell's thread count (the kernel sets its BLAS threads on every call).
    Winograd's kernel and the expansion run up to cfg's winograd_max_n / expansion_max_n; the
    additions alone and the expansion only where the kernel applies the scheme (levels >= 1)."""
    n = A.shape[0]
    recursing = kernel.levels_for(n, n, n, A.dtype, threads) > 0
    extras = Extras(winograd=extras.winograd if n <= cfg["winograd_max_n"] else None,
                    additions=extras.additions if recursing else None,
                    expansion_scheme=(extras.expansion_scheme
                                      if recursing and n <= cfg["expansion_max_n"] else None))
    with threadpool_limits(limits=threads, user_api="blas"):
        return _run_cell(kernel, A, B, ref, threads, cfg, extras)


def _run_cell(kernel: Kernel, A, B, ref, threads: int, cfg: dict, extras: Extras) -> dict:
    n = A.shape[0]
    levels = kernel.levels_for(n, n, n, A.dtype, threads)
    calls = contenders(kernel, A, B, threads, levels, extras)
    names = list(calls)
    warm = {}
    errors = {}
    for name in names:
        warm[name], out = _timed(calls[name])
        if name != "additions":  # the diagnostic build computes no product
            errors[name] = rel_error(out, ref)
        del out
    rounds = max(cfg["repeats"], min(cfg["max_repeats"],
                                     math.ceil(cfg["target_seconds"] / max(warm["blas"], 1e-9))))
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if threads > 1:  # let idle BLAS workers of the previous contender stop spinning
                time.sleep(cfg["pause_seconds"])
            times[name].append(_timed(calls[name])[0])
    med = {name: float(np.median(t)) for name, t in times.items()}
    cell = {"n": n, "dtype": A.dtype.name, "threads": threads, "levels": levels,
            "schedule": kernel.schedule_for(A.dtype, threads), "rounds": rounds,
            "split": kernel.config["split"]}
    for name in names:
        cell[f"t_{name}"] = med[name]
        cell[f"t_{name}_min"] = float(min(times[name]))
    cell["speedup_vs_numpy"] = med["numpy"] / med["kernel"]
    cell["speedup_vs_blas"] = med["blas"] / med["kernel"]
    cell["speedup_vs_numpy_min"] = cell["t_numpy_min"] / cell["t_kernel_min"]
    cell["speedup_vs_blas_min"] = cell["t_blas_min"] / cell["t_kernel_min"]
    if "kernel_alt" in med:
        cell["speedup_alt_vs_blas"] = med["blas"] / med["kernel_alt"]
    if "winograd" in med:
        cell["kernel_over_winograd"] = med["kernel"] / med["winograd"]
    if "additions" in med:
        cell["additions_share"] = med["additions"] / med["kernel"]
    if "expansion" in med:
        cell["speedup_vs_expansion"] = med["expansion"] / med["kernel"]
        cell["rel_error_expansion"] = errors["expansion"]
    cell["rel_error"] = errors["kernel"]
    cell["rel_error_numpy"] = errors["numpy"]
    cell["rel_error_blas"] = errors["blas"]
    if "kernel_alt" in errors:
        cell["rel_error_alt"] = errors["kernel_alt"]
    return cell


def plan(kernel: Kernel, cfg: dict, seed: int, extras: Extras = Extras()) -> list[dict]:
    """Measure the levels plan of every (dtype, threads) of the benchmark on this machine
    (bilinear.native.tune) and give it to the kernel and to the Winograd and additions builds."""
    plans = []
    todo = [(dt, t) for dt in cfg["dtypes"] for t in sorted({min(t, 2) for t in cfg["threads"]})]
    for dt, threads in tqdm(todo, desc="plan", unit="plan"):
        with threadpool_limits(limits=threads, user_api="blas"):
            measured = tune.measure(kernel, dt, threads, sizes=cfg["plan_sizes"],
                                    repeats=cfg["plan_repeats"], margin=cfg["plan_margin"],
                                    seed=seed)
        for k in (kernel, extras.winograd, extras.additions):
            if k is not None:
                k.set_plan(measured)
        plans.append(measured)
    return plans


def run(kernel: Kernel, cfg: dict, seed: int, extras: Extras = Extras(),
        build_dir: str | None = None) -> dict:
    """All cells of the benchmark ({sizes} x {dtypes} x {threads}) plus the machine block and
    the plans measured first (see plan), with the extra contenders (see Extras and run_cell);
    then, given the kernel's build_dir, its first call in a fresh process at 1 thread and
    N = cfg's first_call_n (0: not timed) in each schedule, at the plan's levels (at least one,
    so that the workspace is exercised), see bilinear.native.first_call."""
    machine = machine_info()
    machine["isa_level"] = kernel.set_isa(-1)
    plans = plan(kernel, cfg, seed, extras)
    cells = {}
    todo = [(n, dt) for n in cfg["sizes"] for dt in cfg["dtypes"]]
    bar = tqdm(total=len(todo) * len(cfg["threads"]), desc="bench", unit="cell")
    for n, dt in todo:
        rng = np.random.default_rng([seed, SEED_OFFSET, n])
        A = rng.standard_normal((n, n)).astype(dt)
        B = rng.standard_normal((n, n)).astype(dt)
        with threadpool_limits(limits=max(cfg["threads"]), user_api="blas"):
            ref = A.astype(np.float64) @ B.astype(np.float64)  # classical, of the same inputs
        for threads in cfg["threads"]:
            bar.set_postfix_str(f"n={n} {dt} t={threads}")
            cells[f"{dt}_t{threads}_n{n}"] = run_cell(kernel, A, B, ref, threads, cfg, extras)
            bar.update()
        del A, B, ref
    bar.close()
    first = []
    if cfg["first_call_n"] > 0 and build_dir is not None:
        n = cfg["first_call_n"]
        todo = [(dt, s) for dt in cfg["dtypes"] for s in tune.candidates(1)]
        for dt, schedule in tqdm(todo, desc="first call", unit="process"):
            planned = kernel.levels_for(n, n, n, dt, 1)
            first.append(first_call.measure(build_dir, n, dt, 1, max(planned, 1), schedule)
                         | {"plan_levels": planned, "plan_schedule": kernel.schedule_for(dt, 1)})
    machine["load_average_end"] = list(os.getloadavg())
    machine["kernel_blas"] = kernel.config["openblas"]
    return {"machine": machine, "plans": plans, "cells": cells, "first_call": first,
            "kernel": {k: kernel.config[k] for k in ("format", "rank", "additions_per_level",
                                                      "max_levels", "split")}}
