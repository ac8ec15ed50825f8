"""Errors of a product against a float64 classical reference, without temporaries of the
operands' size: numexpr evaluates the norms blockwise; a float32 reference is formed a block of
rows at a time."""

from __future__ import annotations

import math

import numexpr
import numpy as np

REF_BLOCK = 1024  # rows of A converted to float64 at a time for a float32 reference


def frobenius(X: np.ndarray) -> float:
    """||X||_F in float64, without a temporary of X's size."""
    return math.sqrt(float(numexpr.evaluate("sum(X * X)", local_dict={"X": X})))


def rel_error(C: np.ndarray, ref: np.ndarray, ref_norm: float | None = None) -> float:
    """Normwise relative error ||C - ref||_F / ||ref||_F in float64, without a temporary of
    their size (numexpr evaluates blockwise); ref_norm: ||ref||_F if known."""
    diff = math.sqrt(float(numexpr.evaluate("sum((C - R) * (C - R))",
                                            local_dict={"C": C, "R": ref})))
    norm = frobenius(ref) if ref_norm is None else ref_norm
    return diff / max(norm, np.finfo(np.float64).tiny)


def reference(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The classical product in float64 (float32 inputs: A converted REF_BLOCK rows at a time)."""
    if A.dtype == np.float64:
        return A @ B
    B64 = B.astype(np.float64)
    ref = np.empty((A.shape[0], B.shape[1]))
    for i in range(0, A.shape[0], REF_BLOCK):
        np.matmul(A[i:i + REF_BLOCK].astype(np.float64), B64, out=ref[i:i + REF_BLOCK])
    return ref
