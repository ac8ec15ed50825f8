"""Tests for bilinear.algebra.basis: alternative-basis cores derived from exact schemes."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bilinear.algebra import basis
from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.schemes import strassen, verify
from bilinear.native.build import build
from bilinear.native.kernel import Kernel, KernelInputError
from bilinear.native.plan import SchemeCompileError
from bilinear.native.winograd import winograd
from tests.native_schemes import TEST_PLANS, TEST_SETTINGS
from tests.test_schemes import known_schemes_npz

SCHEMES = {"strassen": strassen, "winograd": winograd,
           "learned": lambda: load_scheme("models/algorithm.json")}


@pytest.mark.parametrize("name", SCHEMES)
def test_core_is_sparser_and_not_a_matmul_scheme(name):
    scheme = SCHEMES[name]()
    alt = basis.sparse_basis(scheme)
    assert alt.core.rank == scheme.rank
    assert alt.core_additions() == 12 < basis.direct_additions(scheme)
    assert not verify(alt.core)  # a bilinear map between the changed bases only


@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("levels", [0, 1, 2, 3])
@pytest.mark.parametrize("shape", [(8, 8, 8), (16, 8, 24), (8, 40, 16)])
def test_multiply_through_the_bases_is_the_product(name, levels, shape):
    alt = basis.sparse_basis(SCHEMES[name]())
    rng = np.random.default_rng(levels * 100 + shape[2])
    M, K, N = shape
    A = rng.integers(-9, 10, (M, K)).astype(np.float64)
    B = rng.integers(-9, 10, (K, N)).astype(np.float64)
    assert np.array_equal(basis.multiply(alt, A, B, levels), A @ B)


def test_change_basis_is_the_kronecker_power():
    """Two levels of M on a 4x4 matrix of scalars: kron(M, M) on its vectorised 2x2 blocks."""
    M = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [1, 0, -1, 0], [0, 0, 1, 1]], dtype=float)
    X = np.arange(16.0).reshape(4, 4)
    # row-major index of an entry at two levels: (outer block, inner position)
    order = [(2 * (i // 2) + j // 2, 2 * (i % 2) + j % 2) for i in range(4) for j in range(4)]
    vec = np.zeros(16)
    for (i, j), (outer, inner) in zip(np.ndindex(4, 4), order, strict=True):
        vec[4 * outer + inner] = X[i, j]
    want = np.kron(M, M) @ vec
    got = basis.change_basis(X, M, (2, 2), 2)
    for (i, j), (outer, inner) in zip(np.ndindex(4, 4), order, strict=True):
        assert got[i, j] == want[4 * outer + inner]


def test_inverse_is_exact_and_detects_singular():
    M = np.array([[Fraction(2), Fraction(1)], [Fraction(1), Fraction(1)]], dtype=object)
    assert (M.dot(basis.inverse(M)) == np.eye(2, dtype=int)).all()
    assert basis.inverse(np.array([[Fraction(1), Fraction(2)], [Fraction(2), Fraction(4)]],
                                  dtype=object)) is None


def test_bad_inputs_fail_clearly():
    alt = basis.sparse_basis(strassen())
    with pytest.raises(ValueError, match="not divisible"):
        basis.change_basis(np.zeros((6, 6)), alt.phi, (2, 2), 2)
    with pytest.raises(ValueError, match="choices"):
        basis.sparse_basis(load_npz_scheme(known_schemes_npz(), "4x4x4"))


@pytest.mark.parametrize("name", SCHEMES)
def test_core_and_bases_compose_to_the_scheme(name):
    scheme = SCHEMES[name]()
    alt = basis.sparse_basis(scheme)
    composed = alt.scheme()
    assert verify(composed)
    assert all((getattr(composed, x) == getattr(scheme, x)).all() for x in "UVW")


@pytest.fixture(scope="module")
def core_kernel(tmp_path_factory):
    """The alternative-basis core of the learned scheme compiled as a bilinear map."""
    alt = basis.sparse_basis(SCHEMES["learned"]())
    path = tmp_path_factory.mktemp("core")
    with pytest.raises(SchemeCompileError, match="Brent"):
        build(alt.core, path, TEST_SETTINGS)
    build(alt.core, path, TEST_SETTINGS, exact=False)
    return alt, Kernel(path, plans=TEST_PLANS)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("levels", [1, 2])
@pytest.mark.parametrize("threads,schedule", [(1, "breadth"), (1, "depth"), (2, "breadth"),
                                              (2, "hybrid"), (2, "depth")])
def test_native_core_between_the_bases_is_the_product(core_kernel, dtype, levels, threads,
                                                       schedule):
    alt, kernel = core_kernel
    rng = np.random.default_rng(levels * 10 + threads)
    A = rng.standard_normal((24, 40)).astype(dtype)
    B = rng.standard_normal((40, 16)).astype(dtype)
    A2 = basis.change_basis(A, alt.phi, (2, 2), levels)
    B2 = basis.change_basis(B, alt.psi, (2, 2), levels)
    C2 = kernel.matmul(A2, B2, threads=threads, levels=levels, schedule=schedule,
                       diagnostic=True)
    C = basis.change_basis(C2, alt.nu_inv, (2, 2), levels)
    ref = A.astype(np.float64) @ B.astype(np.float64)
    assert C.dtype == dtype
    assert np.linalg.norm(C - ref) / np.linalg.norm(ref) < (1e-13 if dtype == np.float64 else 1e-5)
    assert not np.allclose(kernel.matmul(A, B, threads=threads, levels=levels,
                                         schedule=schedule, diagnostic=True), ref)
    with pytest.raises(KernelInputError, match="alternative-basis core"):
        kernel.matmul(A2, B2, threads=threads, levels=levels)
