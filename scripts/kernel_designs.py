"""The kernel designs measured and not kept -> metrics/kernel_designs.json (wall-clock: NOT
deterministic).

One process, float64, N x N x N products at N = kernel_designs.n, at each thread count of
kernel_designs.threads; contenders alternate round by round after one warm-up round (which also
measures each error against A @ B), medians of kernel_designs.repeats rounds:

- gemm: one call of the leaf BLAS, the reference of every ratio;
- plain: the committed kernel (build/kernel) at 1 and 2 levels, depth-first (and hybrid at 2
  threads);
- flattened: the scheme's tensor square (bilinear.algebra.product; <4,4,4> at rank 49)
  compiled and run at one level: one level of 49 products in place of two levels of 7;
- alternative basis: the scheme's sparsest alternative-basis core (bilinear.algebra.basis)
  compiled as a bilinear map and run at 1 and 2 levels on inputs already in its bases, and the
  least its basis changes can cost: one copy pass over each of A, B and C (np.copyto; a fused
  change reads and writes each matrix at least once).  Its error is that of the whole product
  (numpy basis changes around the core);
- batched (at 2 or more threads): the products of one level alone, 7 gemms of (N/2)^3 one after
  another on threaded BLAS against one OpenBLAS batched-gemm call (cblas_dgemm_batch_strided).

Usage: python -m scripts.kernel_designs   (from the repository root; reads params.yaml)
"""

from __future__ import annotations

import ctypes
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy_openblas64
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bilinear.algebra import basis
from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.product import product
from bilinear.algebra.schemes import SchemeFormatError
from bilinear.io import write_json
from bilinear.native.bench import machine_info, rel_error
from bilinear.native.build import build, read_config
from bilinear.native.kernel import Kernel
from bilinear.params import Field, ParamError, read_sections

SPEC = {"seed": Field(int, low=0),
        "kernel_designs": {"n": Field(int, low=16, high=1 << 15),
                           "threads": Field(list, item=int, low=1, high=2, min_len=1),
                           "repeats": Field(int, low=1, high=100),
                           "pause_seconds": Field(float, low=0.0, high=60.0)}}
OUT = "metrics/kernel_designs.json"
SEED_OFFSET = 7100  # random operands: seed + SEED_OFFSET + n


def _rounds(calls: dict, repeats: int, pause: float) -> dict:
    """name -> median seconds over `repeats` rotating rounds (after the caller's warm-up)."""
    names = list(calls)
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(pause)  # idle BLAS workers of the previous contender stop spinning
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def _openblas() -> ctypes.CDLL:
    """The packaged OpenBLAS with the argument types of the calls timed here."""
    path = Path(scipy_openblas64.get_lib_dir()) / f"lib{scipy_openblas64.get_library()}.so"
    lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    i64, f64, ptr, enum = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p, ctypes.c_int
    lib.scipy_cblas_dgemm64_.argtypes = [enum] * 3 + [i64] * 3 + [f64, ptr, i64, ptr, i64,
                                                                  f64, ptr, i64]
    lib.scipy_cblas_dgemm_batch_strided64_.argtypes = (
        [enum] * 3 + [i64] * 3 + [f64, ptr, i64, i64, ptr, i64, i64, f64, ptr, i64, i64, i64])
    return lib


def batched(n: int, threads: int, repeats: int, pause: float, rng) -> dict:
    """The 7 products of one level at N = n: sequential threaded gemms vs one batched call."""
    lib, b, count = _openblas(), n // 2, 7
    row_major, no_trans = 101, 111
    A, B = rng.standard_normal((count, b, b)), rng.standard_normal((count, b, b))
    C = np.empty((count, b, b))

    def sequential():
        for k in range(count):
            lib.scipy_cblas_dgemm64_(row_major, no_trans, no_trans, b, b, b, 1.0,
                                     A[k].ctypes.data, b, B[k].ctypes.data, b, 0.0,
                                     C[k].ctypes.data, b)

    def one_call():
        lib.scipy_cblas_dgemm_batch_strided64_(row_major, no_trans, no_trans, b, b, b, 1.0,
                                               A.ctypes.data, b, b * b, B.ctypes.data, b, b * b,
                                               0.0, C.ctypes.data, b, b * b, count)

    with threadpool_limits(limits=threads, user_api="blas"):
        one_call()
        error = rel_error(C, A @ B)
        sequential()
        med = _rounds({"sequential": sequential, "batched": one_call}, repeats, pause)
    return {"threads": threads, "products": count, "block": b, "t_sequential": med["sequential"],
            "t_batched": med["batched"], "sequential_over_batched":
            med["sequential"] / med["batched"], "rel_error_batched": error}


def cells(kernels: dict, alt: basis.AltBasis, n: int, threads: int, cfg: dict, rng) -> list:
    """Every contender at one thread count (see the module docstring)."""
    plain, flat, core = kernels["plain"], kernels["flattened"], kernels["core"]
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    ref = A @ B
    scratch = np.empty_like(A)
    changed = {lv: (basis.change_basis(A, alt.phi, (2, 2), lv),
                    basis.change_basis(B, alt.psi, (2, 2), lv)) for lv in (1, 2)}
    schedules = ("depth", "hybrid") if threads == 2 else ("depth",)
    calls, rows = {"gemm": lambda: plain.gemm(A, B, threads=threads)}, {"gemm": ("gemm", 0, "")}
    for lv in (1, 2):
        for sch in schedules:
            calls[f"plain{lv}_{sch}"] = (lambda lv=lv, sch=sch: plain.matmul(
                A, B, threads=threads, levels=lv, schedule=sch))
            rows[f"plain{lv}_{sch}"] = ("plain", lv, sch)
        A2, B2 = changed[lv]
        calls[f"core{lv}"] = (lambda A2=A2, B2=B2, lv=lv: core.matmul(
            A2, B2, threads=threads, levels=lv, schedule="depth", diagnostic=True))
        rows[f"core{lv}"] = ("alternative basis core", lv, "depth")
    for sch in schedules:
        calls[f"flat_{sch}"] = (lambda sch=sch: flat.matmul(A, B, threads=threads, levels=1,
                                                             schedule=sch))
        rows[f"flat_{sch}"] = ("flattened", 2, sch)
    calls["copy"] = lambda: np.copyto(scratch, A)
    errors = {}
    with threadpool_limits(limits=threads, user_api="blas"):
        for name, call in calls.items():
            out = call()
            if name.startswith("core"):
                lv = int(name[4:])
                out = basis.change_basis(out, alt.nu_inv, (2, 2), lv)
            if name != "copy":
                errors[name] = rel_error(out, ref)
            del out
        med = _rounds(calls, cfg["repeats"], cfg["pause_seconds"])
    out = []
    for name, (design, levels, schedule) in rows.items():
        row = {"threads": threads, "design": design, "levels": levels, "schedule": schedule,
               "seconds": med[name], "speedup_vs_blas": med["gemm"] / med[name],
               "rel_error": errors[name]}
        if name.startswith("core"):  # the least the three basis changes can add
            row["basis_change_bound_seconds"] = 3 * med["copy"]
            row["speedup_bound_vs_blas"] = med["gemm"] / (med[name] + 3 * med["copy"])
        out.append(row)
    return out


def best(rows: list, design: str, key: str = "speedup_vs_blas") -> dict:
    """The row of a design with the highest value of key at each thread count."""
    out = {}
    for row in rows:
        if row["design"] == design and (row["threads"] not in out
                                        or row[key] > out[row["threads"]][key]):
            out[row["threads"]] = row
    return {str(t): {k: row[k] for k in ("levels", "schedule", key)} for t, row in out.items()}


def main() -> int:
    """Build the flattened and alternative-basis kernels, time every design, write OUT."""
    try:
        params = read_sections(SPEC)
        cfg = params["kernel_designs"]
        if cfg["n"] % 4:
            raise ParamError(f"kernel_designs.n: must be divisible by 4, got {cfg['n']}")
        scheme = load_scheme("models/algorithm.json")
        settings = read_config("build/kernel")
    except (ParamError, SchemeFormatError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    alt = basis.sparse_basis(scheme)
    kernels = {"plain": Kernel("build/kernel")}
    settings = {k: settings[k] for k in ("max_levels", "split")}
    with tempfile.TemporaryDirectory(prefix="kernel_designs_") as tmp:
        build(product(scheme, scheme), Path(tmp) / "flattened", settings)
        build(alt.core, Path(tmp) / "core", settings, exact=False)
        kernels["flattened"] = Kernel(Path(tmp) / "flattened")
        kernels["core"] = Kernel(Path(tmp) / "core")
        machine = machine_info()
        machine["isa_level"] = [k.set_isa(-1) for k in kernels.values()][0]
        n, rows, batch = cfg["n"], [], []
        for threads in tqdm(cfg["threads"], desc="kernel designs", unit="thread count"):
            rng = np.random.default_rng([params["seed"], SEED_OFFSET, n, threads])
            rows += cells(kernels, alt, n, threads, cfg, rng)
            if threads >= 2:
                batch.append(batched(n, threads, cfg["repeats"], cfg["pause_seconds"], rng))
    summary = {design: best(rows, design) for design in ("plain", "flattened")}
    summary["alternative basis (core + least basis change)"] = best(
        [r for r in rows if "speedup_bound_vs_blas" in r], "alternative basis core",
        "speedup_bound_vs_blas")
    write_json(OUT, {
        "machine": machine, "n": n, "dtype": "float64", "repeats": cfg["repeats"],
        "additions_per_level": {name: k.config["additions_per_level"]
                                for name, k in kernels.items()},
        "alternative_basis": {"direct_additions_of_the_scheme": basis.direct_additions(scheme),
                              "direct_additions_of_the_core": alt.core_additions(),
                              "basis_change_additions": alt.change_additions()},
        "best": summary, "cells": rows, "batched_gemm": batch})
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
