"""Python API of the compiled kernel: input checks, the levels rule and one reusable workspace."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path

import numpy as np

from bilinear.native import machine, tune, wisdom
from bilinear.native.build import read_config

DEFAULT_BUILD = Path(__file__).resolve().parents[2] / "build" / "kernel"  # the checkout's
DTYPES = {np.dtype(np.float64): ("d", "double"), np.dtype(np.float32): ("s", "float")}
# schedules of a level: "breadth" forms all of a level's operand sums, then runs its products,
# then combines them; "hybrid" is breadth-first with the products split over two threads and a
# product left alone (a level's odd one, the fringes) on 2-thread BLAS (at 1 thread: breadth);
# "depth" runs one product at a time, its operands formed just before it and its product added
# into C right after (workspace under one operand for 2x2 schemes)
SCHEDULES = ("breadth", "hybrid", "depth")
# where no plan chose one: depth-first, whose workspace stays under one operand
DEFAULT_SCHEDULE = "depth"
PLAN_HINT = ("python -m bilinear plan [SCHEME] [--dtype float64|float32] [--threads 1|2] "
             "measures and stores one")
_told = False  # the no-plan notice is printed once per process
MODE_BREADTH, MODE_SPLIT, MODE_DEPTH, MODE_HYBRID = 0, 1, 2, 3  # as in bilinear/native/prelude.c


class KernelInputError(ValueError):
    """Operands or options the kernel cannot take (wrong dtype, shape, layout, threads, ...)."""


def _row_stride(X: np.ndarray, name: str) -> int:
    """Leading dimension (in elements) of a row-major view with unit column stride."""
    item = X.itemsize
    rows, cols = X.shape
    if X.size == 0:
        return max(cols, 1)
    if cols > 1 and X.strides[1] != item:
        raise KernelInputError(f"{name} must have contiguous rows (column stride {X.strides[1]} "
                               f"bytes, expected {item}); pass np.ascontiguousarray({name})")
    if rows <= 1:
        return max(cols, 1)
    stride = X.strides[0]
    if stride <= 0 or stride % item or stride // item < cols:
        raise KernelInputError(f"{name} has row stride {stride} bytes, expected a positive "
                               f"multiple of {item} of at least {cols * item}; pass "
                               f"np.ascontiguousarray({name})")
    return stride // item


def _empty_aligned(rows: int, cols: int, dtype) -> np.ndarray:
    """An uninitialised C-ordered array whose data starts on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    buf = np.empty(rows * cols * dtype.itemsize + 64, dtype=np.uint8)
    start = (-buf.ctypes.data) % 64
    return buf[start:start + rows * cols * dtype.itemsize].view(dtype).reshape(rows, cols)


def default_plan(dtype, threads: int) -> dict:
    """The safe plan where none was measured for this machine: no recursion at any size (one
    gemm call, never slower than the BLAS it calls; whether and from which size a level pays
    depends on the machine, and on some none does) and the depth-first schedule for explicit
    levels (the least workspace)."""
    return {"dtype": np.dtype(dtype).name, "threads": min(int(threads), 2), "threshold": None,
            "schedule": DEFAULT_SCHEDULE, "source": "default"}


def _tell_no_plan(key: dict) -> None:
    """Say once per process that a kernel runs without a plan, and how to make one."""
    global _told
    if not _told:
        _told = True
        print(f"bilinear: no stored plan for this machine ({key['dtype']}, {key['threads']} "
              f"thread(s)): one gemm call at every size; {PLAN_HINT}", file=sys.stderr)


class Kernel:
    """A compiled scheme kernel loaded from a build directory (see bilinear.native.build); plans:
    measured levels plans (bilinear.native.tune) to use; any other (dtype, threads) takes the
    plan stored for this machine (bilinear.native.wisdom; use_wisdom=False: never), else the
    safe default (default_plan) with a notice on how to plan.  Nothing is ever timed here."""

    def __init__(self, build_dir: str | Path = DEFAULT_BUILD, plans: list[dict] = (),
                 use_wisdom: bool = True):
        build_dir = Path(build_dir)
        if not (build_dir / "config.json").exists():
            raise FileNotFoundError(f"no kernel build in {build_dir} (run the build_native stage)")
        self.config = read_config(build_dir)
        if not self.config["built"]:
            raise FileNotFoundError(f"no kernel in {build_dir}: {self.config['reason']}")
        spec = importlib.util.spec_from_file_location(self.config["module"],
                                                      build_dir / self.config["library"])
        machine.openblas()
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.ffi, self.lib = module.ffi, module.lib
        self.fmt = tuple(self.config["format"])
        self._ws = np.empty(0, dtype=np.uint8)
        self._lock = threading.Lock()
        self.use_wisdom = use_wisdom
        self.plans = {}
        for plan in plans:
            self.set_plan(plan)

    def set_isa(self, level: int) -> int:
        """Addition loops of level (0 baseline, 1 AVX2, 2 AVX-512F; clamped to the CPU's,
        < 0: the widest) for this build's later calls; returns the level in use."""
        return int(self.lib.bl_set_isa(int(level)))

    @staticmethod
    def plan_key(dtype, threads: int) -> str:
        """Key of the plan for a dtype and thread count (2 stands for two or more)."""
        return f"{np.dtype(dtype).name}_{min(int(threads), 2)}"

    def set_plan(self, plan: dict) -> None:
        """Use a measured plan (tune.measure, or one with the same dtype, threads and
        threshold keys) for its dtype and thread count."""
        self.plans[self.plan_key(plan["dtype"], plan["threads"])] = plan

    def plan_for(self, dtype, threads: int) -> dict:
        """The plan of this dtype and thread count: one set, else the stored one of this
        machine (bilinear.native.wisdom), else default_plan (never measured here)."""
        key = self.plan_key(dtype, threads)
        if key not in self.plans:
            stored = None
            if self.use_wisdom:
                full = wisdom.plan_key(self.config, dtype, threads)
                stored = wisdom.load(full)
            if stored is None:
                _tell_no_plan({"dtype": np.dtype(dtype).name, "threads": min(int(threads), 2)})
            self.plans[key] = stored or default_plan(dtype, threads)
        return self.plans[key]

    def levels_for(self, M: int, K: int, N: int, dtype, threads: int) -> int:
        """Recursion levels by the measured plan of this dtype and thread count (tune):
        one gemm call below its threshold, at most the build's max_levels."""
        if M * K * N == 0:
            return 0
        return tune.levels(self.plan_for(dtype, threads), self.fmt, self.config["max_levels"],
                           M, K, N)

    def schedule_for(self, dtype, threads: int, size: int | None = None) -> str:
        """The schedule of the plan of this dtype and thread count (see plan_for) for a product
        whose largest dimension is size (see tune.schedule)."""
        return tune.schedule(self.plan_for(dtype, threads), size)

    def _mode(self, threads: int, split: bool | None, schedule: str) -> int:
        """The C schedule code (MODE_*) of a call."""
        if schedule not in SCHEDULES:
            raise KernelInputError(f"schedule must be one of {', '.join(SCHEDULES)}, got "
                                   f"{schedule!r}")
        if schedule == "depth":
            return MODE_DEPTH
        if schedule == "hybrid":
            return MODE_HYBRID if threads == 2 else MODE_BREADTH
        split = self.config["split"] if split is None else bool(split)
        return MODE_SPLIT if split and threads == 2 else MODE_BREADTH

    def workspace_bytes(self, M: int, K: int, N: int, dtype, levels: int, threads: int = 1,
                        split: bool | None = None, schedule: str = DEFAULT_SCHEDULE) -> int:
        """Bytes of workspace an M x K x N product with these options takes."""
        mode = self._mode(threads, split, schedule)
        return int(self.lib.bl_workspace(int(levels), mode, M, K, N)) * np.dtype(dtype).itemsize

    def _checked(self, A, B, threads):
        for name, X in (("A", A), ("B", B)):
            if not isinstance(X, np.ndarray):
                raise KernelInputError(f"{name} must be a numpy array, got {type(X).__name__}")
            if X.ndim != 2:
                raise KernelInputError(f"{name} must be 2-D, got {X.ndim} dimension(s)")
            if X.dtype not in DTYPES:
                raise KernelInputError(f"{name} has dtype {X.dtype}; expected float32 or float64")
            if not X.flags.aligned:
                raise KernelInputError(f"{name} is not aligned; pass a copy")
        if A.dtype != B.dtype:
            raise KernelInputError(f"A and B must share a dtype, got {A.dtype} and {B.dtype}")
        if A.shape[1] != B.shape[0]:
            raise KernelInputError(f"shapes {A.shape} and {B.shape} do not chain (A columns "
                                   f"{A.shape[1]} != B rows {B.shape[0]})")
        if threads is None:
            threads = len(os.sched_getaffinity(0))
        if not isinstance(threads, int | np.integer) or isinstance(threads, bool) or threads < 1:
            raise KernelInputError(f"threads must be a positive integer, got {threads!r}")
        return int(threads), _row_stride(A, "A"), _row_stride(B, "B")

    def _workspace(self, nbytes: int):
        """(buffer, held lock or None): the shared workspace if free, else a private one."""
        if self._lock.acquire(blocking=False):
            if self._ws.nbytes < nbytes + 64:
                self._ws = np.empty(nbytes + 64, dtype=np.uint8)
            return self._ws, self._lock
        return np.empty(nbytes + 64, dtype=np.uint8), None

    def matmul(self, A: np.ndarray, B: np.ndarray, threads: int | None = None,
               levels: int | None = None, split: bool | None = None,
               schedule: str | None = None, diagnostic: bool = False) -> np.ndarray:
        """A @ B with the scheme applied recursively (levels=None: the build's rule).

        threads: total threads (None: all usable CPUs).  At exactly 2 threads, split=True runs
        the products of a level on two threads over single-threaded BLAS and split=False keeps
        one thread of control over 2-thread BLAS (None: the build's default); more threads,
        and problems too small to recurse, use threaded BLAS.  schedule: "breadth",
        "hybrid" or "depth" (see SCHEDULES; None: the measured plan's, see schedule_for;
        hybrid ignores split); depth-first levels split their passes over the threads and
        leave the products to threaded BLAS.  The BLAS thread count is
        process-wide: it is set on every call.  The GIL is released while the kernel runs.
        A build without leaf products (bilinear.native.build leaves=False, for timing the additions)
        and the build of a bilinear map that is no product (exact=False: an alternative-basis
        core, right only on inputs in its bases) run only with diagnostic=True.
        """
        if not self.config.get("leaves", True) and not diagnostic:
            raise KernelInputError("this build computes no leaf products (additions-only "
                                   "diagnostic): pass diagnostic=True to time it")
        if not self.config.get("exact", True) and not diagnostic:
            raise KernelInputError("this build is a bilinear map, not a product (an "
                                   "alternative-basis core): pass diagnostic=True to run it")
        threads, lda, ldb = self._checked(A, B, threads)
        M, K = A.shape
        N = B.shape[1]
        if levels is None:
            levels = self.levels_for(M, K, N, A.dtype, threads)
        if not isinstance(levels, int | np.integer) or isinstance(levels, bool) or levels < 0:
            raise KernelInputError(f"levels must be a non-negative integer, got {levels!r}")
        if schedule is None:
            schedule = self.schedule_for(A.dtype, threads, max(M, K, N))
        mode = self._mode(threads, split, schedule)
        C = _empty_aligned(M, N, A.dtype)  # aligned rows allow streaming stores
        if M == 0 or N == 0:
            return C
        if K == 0:
            C.fill(0)
            return C
        suffix, ctype = DTYPES[A.dtype]
        nbytes = int(self.lib.bl_workspace(int(levels), mode, M, K, N)) * A.itemsize
        buf, lock = self._workspace(nbytes)
        try:
            base = buf.ctypes.data
            ws = self.ffi.cast(f"{ctype} *", base + (-base) % 64)
            getattr(self.lib, f"bl_matmul_{suffix}")(
                int(levels), threads, mode, M, K, N,
                self.ffi.cast(f"{ctype} *", A.ctypes.data), lda,
                self.ffi.cast(f"{ctype} *", B.ctypes.data), ldb,
                self.ffi.cast(f"{ctype} *", C.ctypes.data), N, ws)
        finally:
            if lock is not None:
                lock.release()
        return C

    def gemm(self, A: np.ndarray, B: np.ndarray, threads: int | None = None) -> np.ndarray:
        """A @ B by the leaf BLAS alone (one gemm call), for comparison."""
        threads, lda, ldb = self._checked(A, B, threads)
        M, N = A.shape[0], B.shape[1]
        C = np.empty((M, N), dtype=A.dtype)
        if C.size and not A.shape[1]:
            C.fill(0)
        elif C.size:
            suffix, ctype = DTYPES[A.dtype]
            getattr(self.lib, f"bl_gemm_{suffix}")(
                threads, M, A.shape[1], N, self.ffi.cast(f"{ctype} *", A.ctypes.data), lda,
                self.ffi.cast(f"{ctype} *", B.ctypes.data), ldb,
                self.ffi.cast(f"{ctype} *", C.ctypes.data), N)
        return C


_default: Kernel | None = None


def matmul(A: np.ndarray, B: np.ndarray, threads: int | None = None,
           levels: int | None = None) -> np.ndarray:
    """A @ B with the kernel built in build/kernel (loaded on first use)."""
    global _default
    if _default is None:
        _default = Kernel()
    return _default.matmul(A, B, threads=threads, levels=levels)
