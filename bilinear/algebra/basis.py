"""Alternative bases (Karstadt and Schwartz, SPAA 2017): a scheme rewritten as a sparser core
bilinear map between changed bases of A, B and C.

With a' = phi a, b' = psi b and c = nu_inv c', the core U' = U phi^-1, V' = V psi^-1,
W' = nu_inv^-1 W computes c' from a' and b' with the same products.  Applied recursively, the
basis changes become their Kronecker powers, one pass per level over the whole matrix, outside
the recursion; the core's additions are what each recursion level pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from math import comb

import numpy as np

from bilinear.algebra import expand
from bilinear.algebra.schemes import Scheme

MAX_CHOICES = 20_000  # row choices _best_rows tries (2x2 schemes of rank 7: 35)


@dataclass(frozen=True)
class AltBasis:
    """A scheme's core in changed bases and the three basis changes (exact Fraction arrays)."""

    core: Scheme  # a bilinear map of the scheme's format, not a matrix-multiplication scheme
    phi: np.ndarray  # (nm, nm): A's block combinations, a' = phi a
    psi: np.ndarray  # (mp, mp): b' = psi b
    nu_inv: np.ndarray  # (np, np): c = nu_inv c'

    def scheme(self) -> Scheme:
        """The matrix-multiplication scheme the core and basis changes compose to."""
        return Scheme(self.core.fmt, self.core.U.dot(self.phi), self.core.V.dot(self.psi),
                      self.nu_inv.dot(self.core.W), dict(self.core.provenance))

    def core_additions(self) -> int:
        """Block additions of one core level without shared subexpressions."""
        return direct_additions(self.core)

    def change_additions(self) -> int:
        """Block additions of the three basis changes at one level."""
        return sum(_row_additions(M) for M in (self.phi, self.psi, self.nu_inv))


def _row_additions(M: np.ndarray) -> int:
    """Additions of a linear map computed row by row: nonzeros minus nonzero rows."""
    return sum(max(int(np.count_nonzero(row != 0)) - 1, 0) for row in M)


def direct_additions(scheme: Scheme) -> int:
    """Block additions per level of a scheme without shared subexpressions: each operand sum and
    each C block is formed term by term."""
    return _row_additions(scheme.U) + _row_additions(scheme.V) + _row_additions(scheme.W)


def inverse(M: np.ndarray) -> np.ndarray | None:
    """Exact inverse of a square Fraction matrix by Gauss-Jordan elimination (None: singular)."""
    n = M.shape[0]
    work = [[Fraction(x) for x in row] + [Fraction(int(i == j)) for j in range(n)]
            for i, row in enumerate(M)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if work[r][col] != 0), None)
        if pivot is None:
            return None
        work[col], work[pivot] = work[pivot], work[col]
        lead = work[col][col]
        work[col] = [x / lead for x in work[col]]
        for r in range(n):
            if r != col and work[r][col] != 0:
                f = work[r][col]
                work[r] = [x - f * y for x, y in zip(work[r], work[col], strict=True)]
    return np.array([row[n:] for row in work], dtype=object)


def _best_rows(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(basis, F basis^-1) over the invertible choices of dim rows of F as the basis, fewest
    additions of F basis^-1 first, then of the basis."""
    dim = F.shape[1]
    if comb(F.shape[0], dim) > MAX_CHOICES:
        raise ValueError(f"{comb(F.shape[0], dim)} choices of {dim} rows out of {F.shape[0]}: "
                         f"over the {MAX_CHOICES} this exhaustive search tries")
    best = None
    for rows in combinations(range(F.shape[0]), dim):
        basis = F[list(rows)]
        inv = inverse(basis)
        if inv is None:
            continue
        core = (F.dot(inv)).astype(object)
        key = (_row_additions(core), _row_additions(basis), rows)
        if best is None or key < best[0]:
            best = (key, basis, core)
    if best is None:
        raise ValueError("the factor matrix has no invertible set of rows: no basis to change to")
    return best[1], best[2]


def sparse_basis(scheme: Scheme) -> AltBasis:
    """The scheme's alternative basis in which rows of U and V and columns of W become unit
    vectors: among the choices of such rows (columns), the sparsest core, then the cheapest
    basis changes."""
    phi, U = _best_rows(scheme.U)
    psi, V = _best_rows(scheme.V)
    nu_inv_t, W_t = _best_rows(scheme.W.T)
    core = Scheme(scheme.fmt, U, V, W_t.T,
                  {"source": "alternative basis", "of": dict(scheme.provenance)})
    return AltBasis(core, phi, psi, nu_inv_t.T)


def change_basis(X: np.ndarray, M: np.ndarray, grid: tuple[int, int], levels: int) -> np.ndarray:
    """M applied to the grid blocks of X at each of `levels` nested levels (its Kronecker power
    on the block-vectorised X, row-major blocks); X's shape must be divisible by grid^levels."""
    rows, cols = grid
    M = np.asarray(M, dtype=np.float64)
    out = np.array(X, dtype=np.result_type(X, np.float32))
    for level in range(levels):
        br, bc = out.shape[0] // rows ** (level + 1), out.shape[1] // cols ** (level + 1)
        if br * rows ** (level + 1) != out.shape[0] or bc * cols ** (level + 1) != out.shape[1]:
            raise ValueError(f"shape {X.shape} is not divisible by {grid} at {levels} levels")
        # (outer blocks, rows, br, outer blocks, cols, bc): the level's grid is axes 1 and 4
        view = out.reshape(out.shape[0] // (rows * br), rows, br, out.shape[1] // (cols * bc),
                           cols, bc)
        flat = view.transpose(1, 4, 0, 2, 3, 5).reshape(rows * cols, -1)
        mixed = (M @ flat).reshape(rows, cols, *view.shape[:1], br, view.shape[3], bc)
        out = mixed.transpose(2, 0, 3, 4, 1, 5).reshape(out.shape).astype(out.dtype)
    return out


def multiply(basis: AltBasis, A: np.ndarray, B: np.ndarray, levels: int) -> np.ndarray:
    """A @ B by `levels` levels of the core between the basis changes (numpy reference)."""
    n, m, p = basis.core.fmt
    A2 = change_basis(A, basis.phi, (n, m), levels)
    B2 = change_basis(B, basis.psi, (m, p), levels)
    C2 = expand.multiply(basis.core, A2, B2, cutoff=1 << 62, min_levels=levels)
    return change_basis(C2, basis.nu_inv, (n, p), levels)
