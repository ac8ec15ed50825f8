"""The Brent equations of one run: the tensor residual of U, V, W against the
matrix-multiplication tensor, its Jacobian and the product-preserving slot rescaling."""

from __future__ import annotations

import numpy as np

from bilinear.algebra.schemes import matmul_tensor


class Brent:
    """The tensor residual and its Jacobian for one run, on the flat vector x = [U | V | W]."""

    def __init__(self, fmt: tuple[int, int, int], rank: int):
        n, m, p = fmt
        self.fmt, self.rank = tuple(fmt), rank
        self.dims = (n * m, m * p, n * p)
        self.target = matmul_tensor(n, m, p).astype(np.float64)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views U (R, nm), V (R, mp), W (np, R) of the flat vector x."""
        a, b, c = self.dims
        R = self.rank
        return (x[:R * a].reshape(R, a), x[R * a:R * (a + b)].reshape(R, b),
                x[R * (a + b):].reshape(c, R))

    def residual(self, x: np.ndarray) -> np.ndarray:
        """The flat tensor residual sum_s U_s (x) V_s (x) W_s - T."""
        U, V, W = self.split(x)
        return (np.einsum("si,sj,ks->ijk", U, V, W) - self.target).ravel()

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """d residual / dx (rows ijk, columns x), filled block-diagonally (no identity products)."""
        U, V, W = self.split(x)
        a, b, c = self.dims
        R = self.rank
        ia, ib, ic = (np.arange(d) for d in self.dims)
        ju = np.zeros((a, b, c, R, a))
        ju[ia, :, :, :, ia] = np.einsum("sj,ks->jks", V, W)
        jv = np.zeros((a, b, c, R, b))
        jv[:, ib, :, :, ib] = np.einsum("si,ks->iks", U, W)
        jw = np.zeros((a, b, c, c, R))
        jw[:, :, ic, ic, :] = np.einsum("si,sj->ijs", U, V)[:, :, None, :]
        rows = self.target.size
        return np.concatenate([ju.reshape(rows, -1), jv.reshape(rows, -1), jw.reshape(rows, -1)],
                              axis=1)

    def sq(self, x: np.ndarray) -> float:
        """The squared norm of the residual."""
        r = self.residual(x)
        return float(r @ r)

    def rescale(self, x: np.ndarray, gauge: str) -> np.ndarray:
        """Rescale every slot (the product is unchanged): gauge 'unit' makes the largest |U| and
        |V| entries 1 (W compensates); 'balanced' makes the largest |U|, |V|, |W| entries equal."""
        U, V, W = (t.copy() for t in self.split(x))
        for s in range(self.rank):
            su, sv, sw = np.abs(U[s]).max(), np.abs(V[s]).max(), np.abs(W[:, s]).max()
            if min(su, sv, sw) == 0:
                continue
            g = (su * sv * sw) ** (1 / 3) if gauge == "balanced" else 1.0
            U[s] *= g / su
            V[s] *= g / sv
            W[:, s] *= su * sv / g**2
        return np.concatenate([U.ravel(), V.ravel(), W.ravel()])
