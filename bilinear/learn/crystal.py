"""What every crystallization method shares: the Crystal it returns, the run it is given (Task),
its wall-clock budget (Clock), the paper's Q (round_clamp), the margin and the exact verdict of
rounded weights (rounded_crystal)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from bilinear.algebra.schemes import Scheme, verify
from bilinear.learn.brent import Brent


def margin(values: np.ndarray, quantized: np.ndarray) -> float:
    """Discretization margin delta = max |theta - Q(theta)|."""
    return float(np.max(np.abs(np.asarray(values) - np.asarray(quantized)))) if values.size else 0.0


def round_clamp(values: np.ndarray) -> np.ndarray:
    """The paper's Q: round to the nearest integer and clamp to {-1, 0, 1}."""
    return np.clip(np.rint(values), -1, 1)


class Clock:
    """A wall-clock budget for one crystallization (seconds; inf = unbounded)."""

    def __init__(self, seconds: float = math.inf):
        self.seconds, self.start = seconds, time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return time.monotonic() - self.start

    def spent(self) -> bool:
        """Whether the budget has run out."""
        return self.elapsed() > self.seconds


@dataclass
class Crystal:
    """Result of discretizing one run: the integer scheme, its margin and the exact verdict
    (`verdict` says in words what happened; `seconds` is the wall time spent)."""

    scheme: Scheme
    margin: float
    exact: bool
    method: str
    input_residual: float = float("nan")
    verdict: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Task:
    """One run handed to a method: its float64 weights U (S,nm), V (S,mp), W (np,S), their flat
    vector x = [U | V | W] and Brent equations, and the settings of the discretize call."""

    brent: Brent
    U: np.ndarray
    V: np.ndarray
    W: np.ndarray
    x: np.ndarray
    tol: float
    clock: Clock
    progress: bool
    anneal: dict | None


def rounded_crystal(brent: Brent, x: np.ndarray, q: np.ndarray, method: str,
                    verdict: str | None) -> Crystal:
    """The Crystal of continuous weights x rounded to q, judged by the exact verifier (`verdict`
    is kept when the scheme is not exact; None: the rounded weights fail)."""
    x, q = (np.where(np.isfinite(t), t, 0.0) for t in (x, q))  # a diverged solve fails, not JSON
    Uq, Vq, Wq = (t.astype(np.int64) for t in brent.split(q))
    scheme = Scheme(brent.fmt, Uq, Vq, Wq)
    exact = verify(scheme)
    if exact:
        verdict = f"crystallized: exact scheme of rank {scheme.rank}, {scheme.nonzeros()} nonzeros"
    elif verdict is None:
        verdict = "the rounded weights fail the exact check: not crystallized"
    return Crystal(scheme, margin(x, q), exact, method, verdict=verdict)
