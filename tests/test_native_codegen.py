"""Plan and C generation of the native kernel (no compiler needed)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bilinear.algebra.schemes import Scheme, canonical, naive, strassen
from bilinear.native.codegen import generate
from bilinear.native.plan import SchemeCompileError, cse, make_plan, validate
from bilinear.native.winograd import winograd
from tests.native_schemes import alphatensor


def test_winograd_plan_has_fifteen_additions():
    plan = make_plan(winograd())
    # 12 block additions in passes plus 3 products accumulated into C by gemm (beta=1)
    assert plan.additions() == 12
    assert len(plan.single) == 3
    assert plan.additions() + len(plan.single) == 15


def test_strassen_plan_counts_same_for_canonical_form():
    for scheme in (strassen(), canonical(strassen())):
        plan = make_plan(scheme)
        assert plan.additions() + len(plan.single) == 18
        assert len(plan.form_a.outputs) == len(plan.form_b.outputs) == 5


def test_cse_shares_repeated_pair():
    comb = cse([{0: Fraction(1), 1: Fraction(1), 2: Fraction(-1)},
                {0: Fraction(2), 1: Fraction(2)}], 3)
    assert comb.defs == ((0, 1, Fraction(1)),)
    assert comb.outputs == (((2, Fraction(-1)), (3, Fraction(1))), ((3, Fraction(2)),))
    assert comb.additions() == 2


def _value(comb, inputs, target):
    vals = list(inputs)
    for a, b, c in comb.defs:
        vals.append(vals[a] + c * vals[b])
    return sum(c * vals[v] for v, c in comb.outputs[target])


@pytest.mark.parametrize("key", ["2x2x3", "3x3x3"])
def test_cse_preserves_every_combination(key):
    scheme = alphatensor(key)
    plan = make_plan(scheme)
    rng = np.random.default_rng(0)
    inputs = [Fraction(int(x)) for x in rng.integers(-50, 50, size=scheme.fmt[0] * scheme.fmt[1])]
    temps = {}
    for r, slot in enumerate(plan.slots):
        if slot.a[0] == "temp":
            temps[slot.a[1]] = (r, slot.scale)
    for t, (r, _) in temps.items():
        row = scheme.U[r]
        lead = next(x for x in row if x != 0)
        expect = sum(x / lead * v for x, v in zip(row, inputs, strict=True))
        assert _value(plan.form_a, inputs, t) == expect


def test_incorrect_scheme_rejected_before_codegen():
    s = strassen()
    U = s.U.copy()
    U[0, 0] = Fraction(2)
    bad = Scheme(s.fmt, U, s.V, s.W)
    with pytest.raises(SchemeCompileError, match="Brent"):
        generate(bad)


def test_huge_coefficient_rejected():
    s = strassen()
    U, W = s.U.copy(), s.W.copy()
    U[2] = U[2] * 1000  # product 2 scaled up, its W column scaled down: still exact
    W[:, 2] = W[:, 2] / 1000
    with pytest.raises(SchemeCompileError, match="outside"):
        validate(Scheme(s.fmt, U, s.V, W))


def test_useless_slots_dropped():
    s = strassen()
    U = np.vstack([s.U, np.array([[1, 0, 0, 0]], dtype=object)])
    V = np.vstack([s.V, np.array([[0, 0, 0, 0]], dtype=object)])
    W = np.hstack([s.W, np.array([[1], [0], [0], [0]], dtype=object)])
    assert validate(Scheme(s.fmt, U, V, W)).rank == 7


def test_generated_source_mentions_both_dtypes_and_no_placeholders():
    src = generate(naive(1, 2, 1))
    assert "bl_matmul_d" in src and "bl_matmul_s" in src
    assert "@S@" not in src
