"""Crystallization methods, one module each, and their registry METHODS (name -> function of a
Task returning a Crystal), from which every list of methods derives:

- round: the paper's rounding and clamping to {-1, 0, 1};
- sparsify: ours, an exact real solution sparsified and pinned to +-1, then rounded;
- anneal: gradient steps only (L1, gauge moves and a discreteness penalty), then the paper's Q.

A new method is one module with a `crystallize(task)` plus one line in METHODS.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from bilinear.learn.brent import Brent
from bilinear.learn.crystal import Clock, Crystal, Task
from bilinear.learn.methods import anneal, sparsify
from bilinear.learn.methods import round as round_

__all__ = ["METHODS", "SOLVED", "discretize"]

METHODS: dict[str, Callable[[Task], Crystal]] = {
    "round": round_.crystallize,
    "sparsify": sparsify.crystallize,
    "anneal": anneal.crystallize,
}
SOLVED = tuple(m for m in METHODS if m != "anneal")  # run by run; anneal also trains batched


def discretize(fmt: tuple[int, int, int], U: np.ndarray, V: np.ndarray, W: np.ndarray,
               method: str, tol: float = 1e-22, budget: float = 120.0,
               progress: bool = False, anneal: dict | None = None) -> Crystal:
    """Discretize one run's U (S,nm), V (S,mp), W (np,S) with `method` and verify exactly.

    `sparsify` polishes once, then tries the gauges of GAUGES in turn and keeps the first exact
    result (else the last attempt); it stops after `budget` seconds (then the current weights
    are rounded and verified) and shows its progress if `progress`.  `anneal` trains on, given
    the keyword arguments `anneal` of bilinear.learn.methods.anneal.anneal_one.  The result
    records input_residual, the largest Brent-equation residual of the continuous input: how far
    the weights were from any exact scheme before discretizing.  BLAS runs single-threaded
    meanwhile (the matrices are tiny: threads only add contention)."""
    if not budget > 0:
        raise ValueError(f"budget must be > 0 seconds, got {budget!r}")
    with threadpool_limits(1):
        return _discretize(fmt, U, V, W, method, tol, Clock(budget), progress, anneal)


def _discretize(fmt, U, V, W, method: str, tol: float, clock: Clock, progress: bool,
                anneal: dict | None = None) -> Crystal:
    U, V, W = (np.asarray(t, dtype=np.float64) for t in (U, V, W))
    x = np.concatenate([U.ravel(), V.ravel(), W.ravel()])
    brent = Brent(fmt, U.shape[0])
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    crystal = METHODS[method](Task(brent, U, V, W, x, tol, clock, progress, anneal))
    crystal.input_residual = float(np.abs(brent.residual(x)).max())
    crystal.seconds = clock.elapsed()
    return crystal
