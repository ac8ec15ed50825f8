"""Gradient-noise geometry of bilinear models: per-sample gradients, their covariance, its spectrum.

Per-sample loss: l(theta; a, b, c) = mean_k (c_hat_k - c_k)^2 with c_hat = W((U a) * (V b)), the
per-sample term of the training MSE.  Sigma = Cov over samples of grad l (d x d, d = number of
parameters, unbiased, divided by N - 1).  A mini-batch gradient of B samples drawn with replacement
has covariance Sigma / B, so the spectrum's shape (kappa, rank) does not depend on B; only the scale
does.

The spectrum of Sigma is taken from the singular values of the centred per-sample gradient matrix.
Numerical rank: an eigenvalue counts as nonzero when it exceeds
max(lambda_max * (max(N, d) * eps)^2, abs_tol) (eps = float64 machine epsilon; the first term is
numpy's matrix_rank rule on singular values).  kappa = lambda_max / lambda_min over the nonzero
eigenvalues.
Even at a generic point Sigma is singular.  <grad l, delta> = (2/np) <r(a,b), (dT delta)(a,b)> with
r the residual and dT the tangent map of the model's tensor, so every direction dT kills (each
slot's rescaling U_r -> s U_r, V_r -> t V_r, W_r -> W_r / (s t): 2 S of them) is null, and so is
every direction with dT delta = A (T - T*) for an antisymmetric np x np matrix A (<r, A r> = 0).
When dT is onto, rank <= nm*mp*np - np(np-1)/2 (58 for 2x2x2, whatever S >= 7).  At an exact
solution every per-sample gradient is
zero (up to float64 rounding): that case is `degenerate` and kappa is undefined (NaN here, null in
metrics), never 1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, vmap

EPS = float(np.finfo(np.float64).eps)
ABS_TOL = 1e-24  # float64 rounding of an exact scheme leaves eigenvalues ~1e-30


def _as_runs(x, ndim: int) -> torch.Tensor:
    """float64 tensor with a leading run axis (added when x has ndim - 1 dimensions)."""
    t = (x.detach() if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))).to(torch.float64)
    return t.unsqueeze(0) if t.ndim == ndim - 1 else t


def _inputs(U, V, W, a, b, c, max_samples: int | None):
    U, V, W = (_as_runs(x, 3) for x in (U, V, W))
    a, b, c = (_as_runs(x, 3)[..., :max_samples, :] for x in (a, b, c))
    R = U.shape[0]
    a, b, c = (x.expand(R, -1, -1) for x in (a, b, c))
    return U, V, W, a, b, c


def per_sample_grads_analytic(U, V, W, a, b, c, max_samples: int | None = None) -> torch.Tensor:
    """Closed-form per-sample gradients, (R, N, d), flattened in the order U, V, W (row-major).

    U (R,S,nm), V (R,S,mp), W (R,np,S) (or without the run axis); a (N,nm), b (N,mp), c (N,np)
    shared by every run, or with a leading run axis.  Only the first max_samples samples are used.
    """
    U, V, W, a, b, c = _inputs(U, V, W, a, b, c, max_samples)
    u = torch.bmm(a, U.transpose(1, 2))  # (R, N, S)
    v = torch.bmm(b, V.transpose(1, 2))
    prod = u * v
    r = torch.bmm(prod, W.transpose(1, 2)) - c  # (R, N, np)
    scale = 2.0 / c.shape[-1]
    q = scale * torch.bmm(r, W)  # dl/dprod, (R, N, S)
    gU = (q * v).unsqueeze(-1) * a.unsqueeze(-2)  # (R, N, S, nm)
    gV = (q * u).unsqueeze(-1) * b.unsqueeze(-2)  # (R, N, S, mp)
    gW = scale * r.unsqueeze(-1) * prod.unsqueeze(-2)  # (R, N, np, S)
    R, N = q.shape[:2]
    return torch.cat([g.reshape(R, N, -1) for g in (gU, gV, gW)], dim=-1)


def _sample_loss(U, V, W, a, b, c):
    c_hat = W @ ((U @ a) * (V @ b))
    return ((c_hat - c) ** 2).mean()


def per_sample_grads_func(U, V, W, a, b, c, max_samples: int | None = None) -> torch.Tensor:
    """Per-sample gradients by torch.func (vmap over runs of vmap over samples of grad): (R, N, d),
    same layout as :func:`per_sample_grads_analytic`."""
    U, V, W, a, b, c = _inputs(U, V, W, a, b, c, max_samples)
    per_sample = vmap(grad(_sample_loss, argnums=(0, 1, 2)), in_dims=(None, None, None, 0, 0, 0))
    gU, gV, gW = vmap(per_sample)(U, V, W, a, b, c)
    R, N = gU.shape[:2]
    return torch.cat([g.reshape(R, N, -1) for g in (gU, gV, gW)], dim=-1)


def _centred(grads: torch.Tensor) -> torch.Tensor:
    N = grads.shape[1]
    if N < 2:
        raise ValueError("the covariance needs at least 2 samples")
    return (grads - grads.mean(dim=1, keepdim=True)) / (N - 1) ** 0.5


def covariance(grads: torch.Tensor) -> torch.Tensor:
    """Sigma: unbiased covariance over samples of per-sample gradients, (R, N, d) -> (R, d, d)."""
    X = _centred(grads)
    return X.transpose(1, 2) @ X


def spectrum(grads: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of Sigma, descending, (R, min(N, d)): squared singular values of the centred
    gradient matrix (accurate down to ~eps^2 * lambda_max, where eigvalsh of Sigma stops at
    ~eps * lambda_max)."""
    return torch.linalg.svdvals(_centred(grads)) ** 2


def spectrum_stats(grads: torch.Tensor, abs_tol: float = ABS_TOL) -> dict:
    """kappa, rank, trace_over_d, degenerate, lambda_max, lambda_min_nonzero, tolerance per run,
    from per-sample gradients (R, N, d).

    An eigenvalue of Sigma is nonzero when it exceeds max(lambda_max * (max(N, d) * eps)^2, abs_tol)
    (the matrix_rank rule s > s_max * max(N, d) * eps on the centred gradient matrix, plus an
    absolute floor).  degenerate (rank 0) gives kappa = NaN.
    """
    N, d = grads.shape[1:]
    eig = spectrum(grads)
    lam_max = eig[:, 0]
    tol = torch.clamp(lam_max * (max(N, d) * EPS) ** 2, min=abs_tol)
    nonzero = eig > tol[:, None]
    rank = nonzero.sum(dim=1)
    degenerate = rank == 0
    lam_min = torch.where(nonzero, eig, torch.full_like(eig, torch.inf)).min(dim=1).values
    nan = torch.full_like(lam_max, torch.nan)
    return {
        "kappa": torch.where(degenerate, nan, lam_max / lam_min),
        "rank": rank,
        "trace_over_d": eig.sum(dim=1) / d,
        "degenerate": degenerate,
        "lambda_max": lam_max,
        "lambda_min_nonzero": torch.where(degenerate, nan, lam_min),
        "tolerance": tol,
    }


def gradient_noise(U, V, W, a, b, c, max_samples: int | None = None, abs_tol: float = ABS_TOL,
                   method: str = "analytic") -> dict:
    """Gradient-noise statistics of R bilinear models at once (the sweep's cheap entry point).

    U (R,S,nm), V (R,S,mp), W (R,np,S); a, b, c the samples ((N, .) shared or (R, N, .)).
    method 'analytic' (closed form, fast) or 'func' (torch.func).  Returns a dict of (R,) tensors:
    kappa (NaN when degenerate), rank, trace_over_d, degenerate, lambda_max, lambda_min_nonzero,
    tolerance; see :func:`spectrum_stats`.
    """
    if method not in ("analytic", "func"):
        raise ValueError(f"method must be 'analytic' or 'func', got {method!r}")
    fn = per_sample_grads_analytic if method == "analytic" else per_sample_grads_func
    with torch.no_grad():  # torch.func.grad ignores an outer no_grad
        grads = fn(U, V, W, a, b, c, max_samples)
    return spectrum_stats(grads.detach(), abs_tol)


def gamma(lr: float, batch_size: int, trace_over_d: float) -> float:
    """Normalised diffusion constant gamma = (lr / B) * Tr(Sigma) / d."""
    return lr / batch_size * trace_over_d


def checkpoint_report(stats: dict, run: int, lr: float, batch_sizes: list[int]) -> dict:
    """JSON-ready summary of one run of :func:`gradient_noise`.

    Per batch size B: kappa (null when degenerate), rank, trace_over_d (per-sample Sigma),
    minibatch_trace_over_d (Sigma / B) and gamma."""
    degenerate = bool(stats["degenerate"][run])
    kappa = None if degenerate else float(stats["kappa"][run])
    trace = float(stats["trace_over_d"][run])
    common = {"kappa": kappa, "rank": int(stats["rank"][run]), "trace_over_d": trace,
              "degenerate": degenerate}
    per_b = {str(B): {**common, "minibatch_trace_over_d": trace / B,
                      "gamma": gamma(lr, B, trace)} for B in batch_sizes}
    lam_min = None if degenerate else float(stats["lambda_min_nonzero"][run])
    return {**common, "lambda_max": float(stats["lambda_max"][run]),
            "lambda_min_nonzero": lam_min, "rank_tolerance": float(stats["tolerance"][run]),
            "batch_size": per_b}
