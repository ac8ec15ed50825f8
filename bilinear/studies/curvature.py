"""Curvature of the training loss: its exact Hessian and the paper's criterion kappa_eff.

The training loss of a run is the MSE over its training pairs.  With c = A @ B exactly it is a
quadratic form in the tensor residual E = sum_s U_s (x) V_s (x) W_s - T weighted by the pairs'
second moments M (bilinear.learn.training.pair_moments), so the loss and its exact Hessian cost the
same whatever the number of pairs: the Hessian (d x d, d = 96 at <2,2,2> with 8 slots) is taken by
torch.func (forward over reverse mode) of that closed form, batched over runs, in float64.

kappa_eff = -tr(H) / d (the paper's -tr(H)/N with N the number of parameters), beside the extreme
eigenvalues of H and its count of negative ones (below -tol * max |eigenvalue|).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import hessian, vmap

from bilinear.algebra.schemes import matmul_tensor
from bilinear.learn.training import Layout

NEGATIVE_TOL = 1e-9  # an eigenvalue below -NEGATIVE_TOL * max |eigenvalue| counts as negative


def moment_loss(theta: torch.Tensor, moments: torch.Tensor, layout: Layout) -> torch.Tensor:
    """One run's MSE over a set of pairs with exact products, from its pair moments (q, q):
    sum_k E_k^T M E_k / (n p) (the torch form of bilinear.learn.training.set_mse)."""
    n, m, p = layout.fmt
    S = layout.slots
    su, sv, _ = layout.sizes
    U = theta[:su].reshape(S, n * m)
    V = theta[su:su + sv].reshape(S, m * p)
    W = theta[su + sv:].reshape(n * p, S)
    target = torch.as_tensor(matmul_tensor(n, m, p).reshape(n * m * m * p, n * p),
                             dtype=theta.dtype)
    uv = (U[:, :, None] * V[:, None, :]).reshape(S, -1)
    E = uv.T @ W.T - target
    return ((moments @ E) * E).sum() / (n * p)


def hessians(theta: np.ndarray, moments: np.ndarray, layout: Layout) -> np.ndarray:
    """Exact Hessians (R, d, d) of the runs' training MSE at theta (R, d), moments (R, q, q)."""
    th = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    mo = torch.as_tensor(np.asarray(moments, dtype=np.float64))
    H = vmap(hessian(lambda t, m: moment_loss(t, m, layout)))(th, mo)
    return H.numpy()


def curvature_stats(H: np.ndarray) -> dict[str, np.ndarray]:
    """Per run of Hessians (R, d, d): trace_over_d, kappa_eff = -trace/d, eig_min, eig_max and
    n_negative (eigenvalues below -NEGATIVE_TOL * max |eigenvalue|)."""
    eig = np.linalg.eigvalsh(0.5 * (H + H.transpose(0, 2, 1)))
    d = H.shape[-1]
    trace = np.trace(H, axis1=1, axis2=2) / d
    scale = np.abs(eig).max(axis=1)
    return {"trace_over_d": trace, "kappa_eff": -trace, "eig_min": eig[:, 0],
            "eig_max": eig[:, -1],
            "n_negative": (eig < -NEGATIVE_TOL * scale[:, None]).sum(axis=1)}
