"""The compiled kernel against numpy: shapes, dtypes, threads, views, schemes, input errors."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bilinear.algebra.schemes import Scheme, canonical, strassen, verify
from bilinear.native import tune
from bilinear.native.build import build
from bilinear.native.kernel import Kernel, KernelInputError
from tests.native_schemes import TEST_PLANS, TEST_SETTINGS, alphatensor

TOL = {np.float64: 1e-12, np.float32: 1e-4}
SHAPES = [(0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1), (2, 2, 2), (1, 7, 1), (7, 1, 9),
          (17, 33, 9), (64, 64, 64), (65, 63, 66), (100, 37, 81), (128, 96, 40)]


def _transformed(scheme: Scheme, P, Q, R) -> Scheme:
    """The scheme for A B = P^-1 ((P A Q^-1)(Q B R^-1)) R: same rank, rational coefficients."""
    P, Q, R = (np.array(x, dtype=object) for x in (P, Q, R))
    U = scheme.U.dot(np.kron(P, _inverse2(Q).T))  # row-major vec(X A Y) = (X kron Y^T) vec(A)
    V = scheme.V.dot(np.kron(Q, _inverse2(R).T))
    W = np.kron(_inverse2(P), R.T).dot(scheme.W)
    return Scheme(scheme.fmt, U, V, W)


def _inverse2(X: np.ndarray) -> np.ndarray:
    """Exact inverse of a 2x2 matrix of integers or Fractions."""
    (a, b), (c, d) = X
    det = Fraction(a * d - b * c)
    return np.array([[d / det, -b / det], [-c / det, a / det]], dtype=object)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> dict:
    """Strassen (canonical form), Strassen under a rational change of bases, and two
    AlphaTensor schemes, compiled into a temporary dir."""
    root = tmp_path_factory.mktemp("native")
    half = Fraction(1, 2)
    rational = _transformed(strassen(), [[1, half], [0, 1]], [[1, 0], [1, 1]], [[2, 1], [1, 1]])
    assert verify(rational) and not rational.is_integral()
    schemes = {"strassen": canonical(strassen()), "rational": rational,
               "2x2x3": alphatensor("2x2x3"), "3x3x3": alphatensor("3x3x3")}
    for name, scheme in schemes.items():
        build(scheme, root / name, TEST_SETTINGS)
    return {name: Kernel(root / name, plans=TEST_PLANS) for name in schemes}


def _check(kernel, A, B, **kw):
    C = kernel.matmul(A, B, **kw)
    ref = A.astype(np.float64) @ B.astype(np.float64)
    assert C.shape == ref.shape and C.dtype == A.dtype
    err = np.linalg.norm(C - ref) / max(np.linalg.norm(ref), 1e-300)
    assert err <= TOL[A.dtype.type], (A.shape, B.shape, kw, err)


@pytest.mark.parametrize("name", ["strassen", "rational", "2x2x3", "3x3x3"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads,split,schedule", [
    (1, True, "breadth"), (2, True, "breadth"), (2, False, "breadth"), (2, True, "hybrid"),
    (1, True, "depth"), (2, True, "depth")])
def test_matches_numpy(kernels, name, dtype, threads, split, schedule):
    rng = np.random.default_rng(1)
    for M, K, N in SHAPES:
        A = rng.standard_normal((M, K)).astype(dtype)
        B = rng.standard_normal((K, N)).astype(dtype)
        for levels in (None, 0, 1, 3):
            _check(kernels[name], A, B, threads=threads, levels=levels, split=split,
                   schedule=schedule)


@settings(max_examples=60, deadline=None)
@given(M=st.integers(0, 80), K=st.integers(0, 80), N=st.integers(0, 80),
       levels=st.integers(0, 4), threads=st.sampled_from([1, 2]), split=st.booleans(),
       schedule=st.sampled_from(["breadth", "hybrid", "depth"]), f32=st.booleans(),
       seed=st.integers(0, 2**16))
def test_property_random_shapes(kernels, M, K, N, levels, threads, split, schedule, f32, seed):
    rng = np.random.default_rng(seed)
    dtype = np.float32 if f32 else np.float64
    A = rng.standard_normal((M, K)).astype(dtype)
    B = rng.standard_normal((K, N)).astype(dtype)
    _check(kernels["strassen"], A, B, threads=threads, levels=levels, split=split,
           schedule=schedule)


@pytest.mark.parametrize("name", ["strassen", "2x2x3", "3x3x3"])
def test_depth_first_workspace_is_under_one_operand(kernels, name):
    k = kernels[name]
    n = 2 * 3 * 64
    for levels in (1, 2, 3):
        depth = k.workspace_bytes(n, n, n, np.float64, levels, schedule="depth")
        breadth = k.workspace_bytes(n, n, n, np.float64, levels, schedule="breadth")
        assert 0 < depth <= n * n * 8 and depth < breadth, (levels, depth, breadth)


def test_depth_first_levels_accumulate_into_views(kernels):
    """Products go straight into strided C blocks with beta 0 then 1, and the operand of the
    previous product is reused: check against numpy on views with odd leading dimensions."""
    rng = np.random.default_rng(5)
    big_a, big_b = rng.standard_normal((77, 101)), rng.standard_normal((99, 83))
    A, B = big_a[1:66, 3:99], big_b[2:98, 5:71]
    for threads in (1, 2):
        _check(kernels["rational"], A, B, threads=threads, levels=3, schedule="depth")


def test_unknown_schedule_is_refused(kernels):
    with pytest.raises(KernelInputError, match="schedule must be one of"):
        kernels["strassen"].matmul(np.ones((4, 4)), np.ones((4, 4)), schedule="sideways")


def test_strided_views_without_copies(kernels):
    rng = np.random.default_rng(2)
    big_a, big_b = rng.standard_normal((90, 120)), rng.standard_normal((130, 70))
    A, B = big_a[3:70, 5:104], big_b[10:109, 1:60]  # views with leading dimension > columns
    assert not A.flags.c_contiguous and not B.flags.c_contiguous
    for threads in (1, 2):
        _check(kernels["strassen"], A, B, threads=threads, levels=3)


def test_concurrent_callers_share_nothing(kernels):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((96, 96)), rng.standard_normal((96, 96))
    results, errors = [], []

    def work():
        try:
            results.append(kernels["strassen"].matmul(A, B, threads=1, levels=3))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    for C in results:
        np.testing.assert_allclose(C, A @ B, rtol=1e-10, atol=1e-10)


def test_leaf_blas_matches_numpy(kernels):
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((33, 20)), rng.standard_normal((20, 17))
    np.testing.assert_allclose(kernels["strassen"].gemm(A, B, threads=2), A @ B, rtol=1e-12)


def test_levels_rule(kernels):
    k = kernels["strassen"]  # plan threshold 8, at most 3 levels
    assert k.levels_for(7, 7, 7, np.float64, 1) == 0
    assert k.levels_for(8, 8, 8, np.float64, 1) == 1
    assert k.levels_for(8, 64, 64, np.float32, 2) == 1
    assert k.levels_for(1024, 1024, 1024, np.float64, 1) == 3
    assert kernels["3x3x3"].levels_for(36, 36, 36, np.float64, 1) == 2


def test_levels_rule_is_per_dtype_and_threads(tmp_path):
    build(canonical(strassen()), tmp_path / "b", TEST_SETTINGS)
    k = Kernel(tmp_path / "b", plans=TEST_PLANS)
    k.set_plan({"dtype": "float64", "threads": 2, "threshold": 64})
    k.set_plan({"dtype": "float32", "threads": 1, "threshold": None})
    assert k.levels_for(63, 64, 64, np.float64, 2) == 0  # below the threshold: one gemm call
    assert k.levels_for(64, 64, 64, np.float64, 2) == 1
    assert k.levels_for(64, 64, 64, np.float64, 4) == 1  # 2 stands for 2 or more
    assert k.levels_for(63, 64, 64, np.float64, 1) == 3
    assert k.levels_for(4096, 4096, 4096, np.float32, 1) == 0  # no gain measured: never


class _SlowLevel:
    """A kernel whose one level costs two gemm calls: the plan must never recurse."""

    def __init__(self, kernel):
        self.kernel, self.config, self.fmt = kernel, kernel.config, kernel.fmt

    def gemm(self, A, B, threads):
        return self.kernel.gemm(A, B, threads=threads)

    def matmul(self, A, B, threads, levels, schedule):
        self.kernel.gemm(A, B, threads=threads)
        return self.kernel.gemm(A, B, threads=threads)


def test_plan_falls_back_to_one_gemm_without_gain(kernels):
    plan = tune.measure(_SlowLevel(kernels["strassen"]), np.float64, 1, sizes=(64, 128),
                        repeats=3)
    assert plan["threshold"] is None and set(plan["thresholds"]) == {"breadth", "depth"}
    assert plan["schedule"] in ("breadth", "depth")
    assert all(lv["gain"] < 0.02 for c in plan["cells"] for lv in c["levels"].values())
    assert tune.levels(plan, (2, 2, 2), 5, 8192, 8192, 8192) == 0


def test_plan_takes_the_recursing_schedule_that_gains_most_at_the_largest_size():
    assert tune.choose({"breadth": 1024, "depth": 512}, {"breadth": 0.2, "depth": 0.1}) == \
        "breadth"
    assert tune.choose({"breadth": 512, "depth": None}, {"breadth": 0.0, "depth": 0.3}) == \
        "breadth"
    assert tune.choose({"breadth": None, "hybrid": None, "depth": None},
                       {"breadth": -0.1, "hybrid": -0.2, "depth": 0.01}) == "depth"
    assert tune.candidates(1) == ("breadth", "depth")
    assert tune.candidates(2) == ("breadth", "hybrid", "depth")


def test_above_the_largest_measured_size_a_recursing_plan_goes_depth_first():
    plan = {"schedule": "breadth", "threshold": 1024, "cells": [{"n": 1024}, {"n": 4096}]}
    assert [tune.schedule(plan, n) for n in (None, 2048, 4096, 8192)] == \
        ["breadth", "breadth", "breadth", "depth"]
    flat = {"schedule": "hybrid", "threshold": None, "cells": [{"n": 4096}]}
    assert tune.schedule(flat, 8192) == "hybrid"  # no recursion: the schedule does not matter
    assert tune.schedule({"schedule": "breadth", "threshold": 64}, 8192) == "breadth"


def test_plan_threshold_needs_a_gain_at_every_larger_size():
    cells = [{"n": 256, "gain": 0.1}, {"n": 512, "gain": -0.01}, {"n": 1024, "gain": 0.05},
             {"n": 2048, "gain": 0.1}]
    assert tune.threshold(cells, 0.02) == 1024
    assert tune.threshold(cells, 0.2) is None
    assert tune.threshold(cells[:1], 0.02) == 256


def test_measured_plan_on_this_machine(kernels):
    k = kernels["strassen"]
    plan = tune.measure(k, np.float32, 1, sizes=(32, 64), repeats=1)
    assert [c["n"] for c in plan["cells"]] == [32, 64]
    assert plan["schedule"] in ("breadth", "depth") and plan["cells"][0]["gemm_gflops"] > 0
    assert all("overhead" in lv for lv in plan["cells"][1]["levels"].values())


@pytest.mark.parametrize("A,B,match", [
    (np.ones((3, 3), np.int64), np.ones((3, 3), np.int64), "dtype"),
    (np.ones((3, 3)), np.ones((3, 3), np.float32), "share a dtype"),
    (np.ones((3, 4)), np.ones((3, 4)), "do not chain"),
    (np.ones((2, 3, 3)), np.ones((3, 3)), "2-D"),
    ([[1.0]], np.ones((1, 1)), "numpy array"),
    (np.ones((4, 3)).T, np.ones((4, 4)), "contiguous rows"),
    (np.ones((6, 4))[::-2], np.ones((4, 4)), "row stride"),
])
def test_bad_inputs_raise(kernels, A, B, match):
    with pytest.raises(KernelInputError, match=match):
        kernels["strassen"].matmul(A, B)


@pytest.mark.parametrize("kw,match", [({"threads": 0}, "threads"), ({"threads": 1.5}, "threads"),
                                      ({"levels": -1}, "levels"), ({"levels": 2.0}, "levels")])
def test_bad_options_raise(kernels, kw, match):
    with pytest.raises(KernelInputError, match=match):
        kernels["strassen"].matmul(np.ones((4, 4)), np.ones((4, 4)), **kw)


def test_missing_build_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_native"):
        Kernel(tmp_path)


@pytest.mark.parametrize("isa", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_instruction_set_matches_numpy(kernels, isa, dtype):
    kernel = kernels["strassen"]
    used = kernel.set_isa(isa)
    try:
        assert used <= isa
        rng = np.random.default_rng(isa)
        # 1024 x 1024 blocks at one level take the streaming vector path, 65 x 66 the loops
        for M, K, N, levels in ((1024, 1024, 1024, 1), (65, 63, 66, 2), (1, 1, 1, 1)):
            A = rng.standard_normal((M, K)).astype(dtype)
            B = rng.standard_normal((K, N)).astype(dtype)
            _check(kernel, A, B, threads=1, levels=levels)
    finally:
        kernel.set_isa(-1)
