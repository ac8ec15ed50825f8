"""The bilinear model C = W((U a) * (V b)), batched over R independent runs in one tensor set."""

from __future__ import annotations

import torch

INITS = ("symmetric", "gaussian")


class BilinearModel(torch.nn.Module):
    """R independent bilinear models with S slots for the format <n,m,p>.

    Parameters (one leading run axis R):
        U (R, S, n*m), V (R, S, m*p), W (R, n*p, S).
    forward(a, b) maps a (R, B, n*m) and b (R, B, m*p) to c (R, B, n*p).
    """

    def __init__(self, U: torch.Tensor, V: torch.Tensor, W: torch.Tensor):
        super().__init__()
        if U.ndim != 3 or V.ndim != 3 or W.ndim != 3:
            raise ValueError("U, V, W must be 3-D (runs, ., .)")
        R, S, _ = U.shape
        if V.shape[:2] != (R, S) or W.shape[0] != R or W.shape[2] != S:
            shapes = f"U{tuple(U.shape)} V{tuple(V.shape)} W{tuple(W.shape)}"
            raise ValueError(f"inconsistent shapes {shapes}")
        self.U = torch.nn.Parameter(U.clone())
        self.V = torch.nn.Parameter(V.clone())
        self.W = torch.nn.Parameter(W.clone())

    @property
    def runs(self) -> int:
        """Number of independent runs R."""
        return self.U.shape[0]

    @property
    def slots(self) -> int:
        """Number of slots (products) S."""
        return self.U.shape[1]

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Batched bilinear map: (R, B, nm), (R, B, mp) -> (R, B, np)."""
        products = torch.bmm(a, self.U.transpose(1, 2)) * torch.bmm(b, self.V.transpose(1, 2))
        return torch.bmm(products, self.W.transpose(1, 2))

    def arrays(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Detached copies of (U, V, W)."""
        return tuple(t.detach().clone() for t in (self.U, self.V, self.W))


def init_model(fmt: tuple[int, int, int], slots: int, runs: int, init: str, scale: float,
               generator: torch.Generator, dtype: torch.dtype = torch.float64) -> BilinearModel:
    """Create R runs with S slots.

    init: 'symmetric' (the paper's: V = U at initialisation; needs n*m == m*p) or 'gaussian'
    (independent U, V, W).  Entries are N(0, scale^2); W uses the same scale.
    """
    n, m, p = fmt
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if slots < 1 or runs < 1:
        raise ValueError("slots and runs must be >= 1")
    U = torch.randn(runs, slots, n * m, generator=generator, dtype=dtype) * scale
    if init == "symmetric":
        if n * m != m * p:
            raise ValueError(f"symmetric init needs n*m == m*p, got format {n}x{m}x{p}")
        V = U.clone()
    else:
        V = torch.randn(runs, slots, m * p, generator=generator, dtype=dtype) * scale
    W = torch.randn(runs, n * p, slots, generator=generator, dtype=dtype) * scale
    return BilinearModel(U, V, W)

