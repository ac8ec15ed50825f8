"""The kernel designs measured and not kept, derived from one fixed published scheme
(Strassen's, bilinear.algebra.schemes.strassen; never the learned one, so that they do not
depend on training).  Float64, N x N x N products at N = n, at each thread count; contenders
alternate round by round after one warm-up round which also measures each error
(bilinear.native.timing), medians (with min and max) of `repeats` rounds:

- gemm: one call of the leaf BLAS, the reference of every ratio;
- plain: the scheme's kernel (build/reference/strassen) at 1 and 2 levels, depth-first (and
  hybrid at 2 threads);
- flattened: the scheme's tensor square (bilinear.algebra.product; <4,4,4> at rank 49)
  compiled and run at one level: one level of 49 products in place of two levels of 7;
- alternative basis: the scheme's sparsest alternative-basis core (bilinear.algebra.basis)
  compiled as a bilinear map and run at 1 and 2 levels on inputs already in its bases, and the
  least its basis changes can cost: one copy pass over each of A, B and C (np.copyto).  Its
  error is that of the whole product (numpy basis changes around the core);
- batched (at 2 or more threads): the products of one level alone, 7 gemms of (N/2)^3 one after
  another on threaded BLAS against one OpenBLAS batched-gemm call (cblas_dgemm_batch_strided).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bilinear import seeds
from bilinear.algebra import basis
from bilinear.algebra.product import product
from bilinear.algebra.schemes import Scheme
from bilinear.native.accuracy import rel_error
from bilinear.native.build import build
from bilinear.native.kernel import Kernel
from bilinear.native.machine import machine_info, openblas
from bilinear.native.timing import Harness


def batched(n: int, threads: int, repeats: int, pause: float, rng) -> dict:
    """The 7 products of one level at N = n: sequential threaded gemms vs one batched call."""
    lib, b, count = openblas(), n // 2, 7
    row_major, no_trans = 101, 111
    A, B = rng.standard_normal((count, b, b)), rng.standard_normal((count, b, b))
    C = np.empty((count, b, b))

    def sequential():
        for k in range(count):
            lib.scipy_cblas_dgemm64_(row_major, no_trans, no_trans, b, b, b, 1.0,
                                     A[k].ctypes.data, b, B[k].ctypes.data, b, 0.0,
                                     C[k].ctypes.data, b)
        return C

    def one_call():
        lib.scipy_cblas_dgemm_batch_strided64_(row_major, no_trans, no_trans, b, b, b, 1.0,
                                               A.ctypes.data, b, b * b, B.ctypes.data, b, b * b,
                                               0.0, C.ctypes.data, b, b * b, count)
        return C

    errors = {}

    def check(name, out):  # the first product suffices to check the call, at 1/7 the memory
        errors[name] = rel_error(out[0], A[0] @ B[0])

    with threadpool_limits(limits=threads, user_api="blas"):
        t = Harness(pause).run({"batched": one_call, "sequential": sequential}, repeats, check)
    return {"threads": threads, "products": count, "block": b,
            "t_sequential": t.median("sequential"), "t_batched": t.median("batched"),
            "sequential_over_batched": t.median("sequential") / t.median("batched"),
            "rel_error_batched": errors["batched"],
            "rel_error_sequential": errors["sequential"], "spread": t.summary()}


def cells(kernels: dict, alt: basis.AltBasis, n: int, threads: int, repeats: int,
          pause: float, rng) -> list:
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

    def check(name, out):
        if name.startswith("core"):
            out = basis.change_basis(out, alt.nu_inv, (2, 2), int(name[4:]))
        if name != "copy":
            errors[name] = rel_error(out, ref)

    with threadpool_limits(limits=threads, user_api="blas"):
        stats = Harness(pause).run(calls, repeats, check=check).summary()
    med = {name: s["median"] for name, s in stats.items()}
    out = []
    for name, (design, levels, schedule) in rows.items():
        row = {"threads": threads, "design": design, "levels": levels, "schedule": schedule,
               "seconds": med[name], "seconds_min": stats[name]["min"],
               "seconds_max": stats[name]["max"], "speedup_vs_blas": med["gemm"] / med[name],
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


def run(scheme: Scheme, plain: Kernel, n: int, threads: list[int], repeats: int, pause: float,
        seed: int) -> dict:
    """Build the flattened and alternative-basis kernels of scheme (in a temporary directory,
    with plain's settings), time every design against plain (the scheme's own build) and one
    gemm call (see the module docstring); the metrics of kernel_designs.json."""
    alt = basis.sparse_basis(scheme)
    kernels = {"plain": plain}
    settings = {k: plain.config[k] for k in ("max_levels", "split")}
    with tempfile.TemporaryDirectory(prefix="kernel_designs_") as tmp:
        build(product(scheme, scheme), Path(tmp) / "flattened", settings)
        build(alt.core, Path(tmp) / "core", settings, exact=False)
        kernels["flattened"] = Kernel(Path(tmp) / "flattened")
        kernels["core"] = Kernel(Path(tmp) / "core")
        machine = machine_info()
        machine["isa_level"] = [k.set_isa(-1) for k in kernels.values()][0]
        rows, batch = [], []
        for t in tqdm(threads, desc="kernel designs", unit="thread count"):
            rng = np.random.default_rng([seed, seeds.KERNEL_DESIGNS, n, t])
            rows += cells(kernels, alt, n, t, repeats, pause, rng)
            if t >= 2:
                batch.append(batched(n, t, repeats, pause, rng))
    summary = {design: best(rows, design) for design in ("plain", "flattened")}
    summary["alternative basis (core + least basis change)"] = best(
        [r for r in rows if "speedup_bound_vs_blas" in r], "alternative basis core",
        "speedup_bound_vs_blas")
    return {"machine": machine, "scheme": dict(scheme.provenance), "n": n, "dtype": "float64",
            "repeats": repeats,
            "additions_per_level": {name: k.config["additions_per_level"]
                                    for name, k in kernels.items()},
            "alternative_basis": {"direct_additions_of_the_scheme": basis.direct_additions(scheme),
                                  "direct_additions_of_the_core": alt.core_additions(),
                                  "basis_change_additions": alt.change_additions()},
            "best": summary, "cells": rows, "batched_gemm": batch}
