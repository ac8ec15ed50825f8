"""The machine the kernel runs on: its CPU (from /proc/cpuinfo), the packaged OpenBLAS
(scipy-openblas64, loaded here and nowhere else) and the BLAS libraries of this process."""

from __future__ import annotations

import ctypes
import functools
import os
import platform
from pathlib import Path

import numpy as np
import scipy_openblas64
from threadpoolctl import threadpool_info

SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "avx512bw")


@functools.cache
def openblas() -> ctypes.CDLL:
    """The packaged OpenBLAS, loaded globally so that kernel builds (which name it by soname,
    with no rpath) resolve to it; the argument types of its gemm calls set once."""
    path = Path(scipy_openblas64.get_lib_dir()) / f"lib{scipy_openblas64.get_library()}.so"
    lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    i64, f64, ptr, enum = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p, ctypes.c_int
    lib.scipy_cblas_dgemm64_.argtypes = [enum] * 3 + [i64] * 3 + [f64, ptr, i64, ptr, i64,
                                                                  f64, ptr, i64]
    lib.scipy_cblas_dgemm_batch_strided64_.argtypes = (
        [enum] * 3 + [i64] * 3 + [f64, ptr, i64, i64, ptr, i64, i64, f64, ptr, i64, i64, i64])
    return lib


def openblas_config() -> str:
    """OpenBLAS's build configuration string (version, kernel family, threading)."""
    return scipy_openblas64.get_openblas_config().strip()


def _cpuinfo(key: str) -> str | None:
    """The first value of key in /proc/cpuinfo (None where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh
                         if line.split(":", 1)[0].strip() == key), None)
    except OSError:
        return None


@functools.cache
def cpu() -> dict:
    """CPU model and its full flag list (sorted) from /proc/cpuinfo."""
    return {"model": _cpuinfo("model name") or platform.processor(),
            "flags": sorted(set((_cpuinfo("flags") or "").split()))}


def blas_libraries() -> list[dict]:
    """The BLAS libraries loaded in this process (threadpoolctl): API, version, architecture
    (OpenBLAS's kernel family), threads and file name."""
    return [{k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            | {"library": os.path.basename(lib.get("filepath", ""))}
            for lib in threadpool_info() if lib.get("user_api") == "blas"]


def kernel_blas() -> dict:
    """The packaged OpenBLAS the kernel calls: version and kernel family (threadpoolctl) and
    its configuration string."""
    openblas()
    here = os.path.realpath(scipy_openblas64.get_lib_dir())
    found = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"
             and os.path.realpath(lib.get("filepath", "")).startswith(here + os.sep)]
    info = found[0] if found else {}  # not numpy's bundled copy of the same library
    return {"version": info.get("version"), "architecture": info.get("architecture"),
            "config": openblas_config()}


def machine_info() -> dict:
    """CPU model and SIMD flags, cores, load average and the BLAS libraries loaded in this
    process (their architecture field is OpenBLAS's kernel family)."""
    info = cpu()
    return {"cpu": info["model"], "cpu_flags": [f for f in SIMD_FLAGS if f in info["flags"]],
            "cores": os.cpu_count(), "load_average": list(os.getloadavg()),
            "python": platform.python_version(), "numpy": np.__version__,
            "blas": blas_libraries()}
