"""Hensel lifting from GF(2): Strassen's scheme mod 2 lifts to an exact integer scheme; a
<3,3,3>:23 scheme exact mod 2 is provably not liftable (its mod-4 system has no solution)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bilinear.algebra.lift import lift, rational_reconstruction
from bilinear.algebra.schemes import Scheme, strassen, valid_modulo_2, verify

DATA = Path(__file__).with_name("data")


def _mod2(scheme: Scheme) -> Scheme:
    return Scheme(scheme.fmt, *(np.vectorize(lambda x: int(x) % 2)(M) for M in
                                (scheme.U, scheme.V, scheme.W)))


def _same_mod2(a: Scheme, b: Scheme) -> bool:
    return all(int(x - y) % 2 == 0 for M, N in ((a.U, b.U), (a.V, b.V), (a.W, b.W))
               for x, y in zip(M.flat, N.flat, strict=True))


def test_strassen_mod_2_lifts_to_an_exact_integer_scheme():
    reduced = _mod2(strassen())
    assert valid_modulo_2(reduced) and not verify(reduced)
    result = lift(reduced)
    assert result.status == "lifted" and result.steps >= 1
    assert verify(result.scheme) and result.scheme.is_integral()
    assert _same_mod2(result.scheme, reduced)


def test_a_scheme_whose_mod_4_system_is_inconsistent_does_not_lift():
    data = json.loads((DATA / "gf2_3x3x3_r23_unliftable.json").read_text())
    products = data["products"]
    scheme = Scheme(tuple(data["format"]), [x for x, _, _ in products],
                    [y for _, y, _ in products], np.array([z for _, _, z in products]).T)
    assert scheme.rank == 23 and valid_modulo_2(scheme)
    result = lift(scheme)
    assert (result.status, result.steps, result.scheme) == ("obstructed", 1, None)
    assert result.proved


def test_lift_refuses_a_scheme_not_exact_mod_2():
    s = _mod2(strassen())
    U = s.U.copy()
    U[0, 0] = 0
    with pytest.raises(ValueError, match="not exact modulo 2"):
        lift(Scheme(s.fmt, U, s.V, s.W))


def test_rational_reconstruction():
    modulus = 2**20
    for value in (Fraction(3, 7), Fraction(-5, 3), Fraction(11)):
        x = value.numerator * pow(value.denominator, -1, modulus) % modulus
        assert rational_reconstruction(x, modulus) == value
