"""Recursive block expansion: a <n,m,p> scheme applied at every level of a blocked product.

An M x K matrix A is cut into n x m blocks and a K x N matrix B into m x p blocks; the scheme's
U and V form R linear combinations of the blocks, the R block products are computed recursively
with the same scheme, and W combines them into the n x p blocks of C. The R products of a level are
stacked into one batch, so each level is a handful of vectorised numpy calls.

Sizes that are not multiples of the block grid are zero-padded up to the next multiple at each
level (padding, not peeling: zero rows and columns contribute nothing and are cut off afterwards),
so any M, K, N works. Once some dimension is <= cutoff the batch is multiplied by numpy, except
that the first min_levels levels always use the scheme (so a 2 x 2 product still exercises it).
"""

from __future__ import annotations

import numpy as np

from bilinear.algebra.schemes import Scheme

BATCH_ELEMENTS = 1 << 16  # split a level's batch (depth-first) above this many stacked elements


def _expands(shape: tuple[int, int, int], depth: int, cutoff: int, min_levels: int) -> bool:
    return max(shape) > 1 and (depth < min_levels or min(shape) > cutoff)


def expansion_levels(fmt, shape: tuple[int, int, int], cutoff: int = 16,
                     min_levels: int = 1) -> int:
    """How many levels of the scheme :func:`multiply` applies to an M x K by K x N product."""
    (n, m, p), (M, K, N) = fmt, shape
    depth = 0
    while _expands((M, K, N), depth, cutoff, min_levels):
        M, K, N, depth = -(-M // n), -(-K // m), -(-N // p), depth + 1
    return depth


def multiply(scheme: Scheme, A: np.ndarray, B: np.ndarray, cutoff: int = 16,
             min_levels: int = 1) -> np.ndarray:
    """A @ B computed by recursive block expansion of scheme, in the dtype of A and B."""
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply shapes {A.shape} and {B.shape}")
    if cutoff < 1 or min_levels < 0:
        raise ValueError(f"need cutoff >= 1 and min_levels >= 0, got {cutoff}, {min_levels}")
    dtype = np.result_type(A, B, np.float32)
    factors = tuple(x.astype(dtype) for x in scheme.as_float())
    plan = (scheme.fmt, factors, cutoff, min_levels)
    return _multiply(plan, A.astype(dtype)[None], B.astype(dtype)[None], 0)[0]


def _multiply(plan, A: np.ndarray, B: np.ndarray, depth: int) -> np.ndarray:
    """Batched expansion at recursion depth `depth`: A (b, M, K) times B (b, K, N)."""
    (n, m, p), (U, V, W), cutoff, min_levels = plan
    rank = U.shape[0]
    batch, M, K = A.shape
    N = B.shape[2]
    if not _expands((M, K, N), depth, cutoff, min_levels):
        return A @ B
    Mb, Kb, Nb = -(-M // n), -(-K // m), -(-N // p)
    if batch > 1 and rank * batch * max(Mb * Kb, Kb * Nb, Mb * Nb) > BATCH_ELEMENTS:
        half = batch // 2
        return np.concatenate([_multiply(plan, A[:half], B[:half], depth),
                               _multiply(plan, A[half:], B[half:], depth)])
    A = np.pad(A, ((0, 0), (0, n * Mb - M), (0, m * Kb - K)))
    B = np.pad(B, ((0, 0), (0, m * Kb - K), (0, p * Nb - N)))
    blocks_a = A.reshape(batch, n, Mb, m, Kb).transpose(1, 3, 0, 2, 4).reshape(n * m, -1)
    blocks_b = B.reshape(batch, m, Kb, p, Nb).transpose(1, 3, 0, 2, 4).reshape(m * p, -1)
    left = (U @ blocks_a).reshape(rank * batch, Mb, Kb)
    right = (V @ blocks_b).reshape(rank * batch, Kb, Nb)
    products = _multiply(plan, left, right, depth + 1).reshape(rank, -1)
    C = (W @ products).reshape(n, p, batch, Mb, Nb).transpose(2, 0, 3, 1, 4)
    return C.reshape(batch, n * Mb, p * Nb)[:, :M, :N]


def relative_error(C: np.ndarray, reference: np.ndarray) -> float:
    """Normwise (Frobenius) relative error ||C - reference|| / ||reference||."""
    reference = np.asarray(reference, dtype=np.float64)
    diff = np.asarray(C, dtype=np.float64) - reference
    return float(np.linalg.norm(diff) / np.linalg.norm(reference))


def relative_errors(scheme: Scheme | None, sizes, rng: np.random.Generator, trials: int = 1,
                    cutoff: int = 16, dtype=np.float64, min_levels: int = 1) -> dict[int, float]:
    """{N: max over trials of the normwise relative error of the expanded N x N product}.

    Inputs are standard Gaussian, rounded to dtype; the reference is numpy's float64 product of
    the same rounded inputs. scheme None measures numpy's own product in dtype (the baseline).
    Draws come from rng in order of sizes, then trials.
    """
    out = {}
    for size in sizes:
        worst = 0.0
        for _ in range(trials):
            A = rng.standard_normal((size, size)).astype(dtype)
            B = rng.standard_normal((size, size)).astype(dtype)
            reference = A.astype(np.float64) @ B.astype(np.float64)
            C = A @ B if scheme is None else multiply(scheme, A, B, cutoff, min_levels)
            worst = max(worst, relative_error(C, reference))
        out[int(size)] = worst
    return out


PAPER_SIZES = (2, 4, 8, 16, 32, 64)
EXPANSION_TOL = 1e-5  # the paper's Definition 4.2: float32 relative error below this at PAPER_SIZES


def expansion_success(scheme: Scheme, rng: np.random.Generator, sizes=PAPER_SIZES,
                      tolerance: float = EXPANSION_TOL, dtype=np.float32, cutoff: int = 1) -> bool:
    """The paper's Definition 4.2 test: the expanded product's relative error is below tolerance
    at every size (paper: 2..64, float32, recursion down to scalars). Exactness is checked apart."""
    errors = relative_errors(scheme, sizes, rng, cutoff=cutoff, dtype=dtype)
    return all(err < tolerance for err in errors.values())
