"""Tensor products of schemes: one recursion level of a scheme over blocks that another scheme
multiplies, flattened into a single scheme of the product format."""

from __future__ import annotations

import numpy as np

from bilinear.algebra.schemes import Scheme


def product(outer: Scheme, inner: Scheme) -> Scheme:
    """The tensor (Kronecker) product of two schemes: one level of outer over blocks that inner
    multiplies, flattened into one scheme of format <n1 n2, m1 m2, p1 p2> at rank r1 r2."""
    (n1, m1, p1), (n2, m2, p2) = outer.fmt, inner.fmt

    def operand(X: np.ndarray, Y: np.ndarray, rows: tuple, cols: tuple) -> np.ndarray:
        # (r1, i1, j1) x (r2, i2, j2) -> (r1, r2, i1, i2, j1, j2): row-major blocks of blocks
        x = X.reshape(X.shape[0], rows[0], cols[0])
        y = Y.reshape(Y.shape[0], rows[1], cols[1])
        out = np.multiply.outer(x, y).transpose(0, 3, 1, 4, 2, 5)
        return out.reshape(X.shape[0] * Y.shape[0], -1)

    U = operand(outer.U, inner.U, (n1, n2), (m1, m2))
    V = operand(outer.V, inner.V, (m1, m2), (p1, p2))
    W = operand(outer.W.T, inner.W.T, (n1, n2), (p1, p2)).T
    return Scheme((n1 * n2, m1 * m2, p1 * p2), U, V, W,
                  {"source": "tensor product", "outer": dict(outer.provenance),
                   "inner": dict(inner.provenance)})
