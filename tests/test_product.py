"""Tests for bilinear.algebra.product: tensor products of schemes."""

from __future__ import annotations

import pytest

from bilinear.algebra.product import product
from bilinear.algebra.schemes import naive, strassen, verify


@pytest.mark.parametrize("pair", [("strassen", "strassen"), ("strassen", "naive232"),
                                  ("naive232", "strassen")])
def test_tensor_product_of_schemes_verifies(pair):
    make = {"strassen": strassen, "naive232": lambda: naive(2, 3, 2)}
    outer, inner = (make[name]() for name in pair)
    flat = product(outer, inner)
    assert flat.fmt == tuple(a * b for a, b in zip(outer.fmt, inner.fmt, strict=True))
    assert flat.rank == outer.rank * inner.rank
    assert verify(flat)
    broken = product(outer, inner)
    broken.U[0, 0] += 1
    assert not verify(broken)
