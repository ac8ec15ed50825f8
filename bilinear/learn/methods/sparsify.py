"""Method ``sparsify`` (ours): polish to an exact real solution of the Brent equations
(Levenberg-Marquardt on the tensor residual; if it stalls, a norm-penalised continuation first),
greedily set the smallest free coordinate to 0 and re-solve the other free coordinates by
minimum-norm Gauss-Newton (the move is kept only if the squared residual stays below ``tol``),
rescaling slots to unit max-entry in U and V; then pin the remaining nonzeros to +-1 the same way;
then round.  The margin is max |theta - Q(theta)| of the weights that are rounded, and success is
decided by the exact verifier alone.
"""

from __future__ import annotations

import math

import numpy as np
from tqdm import tqdm

from bilinear.learn.brent import Brent
from bilinear.learn.crystal import Clock, Crystal, Task, rounded_crystal


def _polish(brent: Brent, x: np.ndarray, iters: int = 300, tol: float = 1e-28,
            mu: float = 0.0, clock: Clock | None = None) -> np.ndarray:
    """Levenberg-Marquardt on |residual|^2 + mu |x|^2; returns the best point found.

    With mu > 0 the norm penalty is a continuation: mu shrinks by 0.7 on every accepted step and
    the loop ends once it is negligible (< 1e-16), so the result is a small-norm point to be
    polished further with mu = 0.  The loop also ends when the clock's budget is spent."""
    lam = 1e-3

    def objective(z: np.ndarray) -> float:
        return brent.sq(z) + mu * float(z @ z)

    best = objective(x)
    for _ in range(iters):
        if best < tol or 0 < mu < 1e-16 or clock is not None and clock.spent():
            break
        r, J = brent.residual(x), brent.jacobian(x)
        g, H = J.T @ r + mu * x, J.T @ J + mu * np.eye(x.size)
        step = np.linalg.solve(H + lam * np.diag(np.diag(H) + 1e-12), -g)
        if objective(x + step) < best:
            x, lam, mu = x + step, max(lam / 3, 1e-12), mu * 0.7
            best = objective(x)
        else:
            lam = min(lam * 4, 1e12)
    return x


def _solve_exactly(brent: Brent, x: np.ndarray, tol: float,
                   clock: Clock | None = None) -> np.ndarray:
    """An exact real solution near x: plain LM; if it stalls (a degenerate configuration with
    diverging coefficients), LM again from x with a vanishing norm penalty, then plain LM."""
    polished = _polish(brent, x, clock=clock)
    if brent.sq(polished) < tol:
        return polished
    return _polish(brent, _polish(brent, x, iters=400, mu=1e-2, clock=clock), clock=clock)


def _resolve(brent: Brent, x: np.ndarray, free: np.ndarray, tol: float,
             iters: int = 12) -> tuple[np.ndarray, bool]:
    """Minimum-norm Gauss-Newton on the free coordinates until the squared residual < tol."""
    for _ in range(iters):
        r = brent.residual(x)
        if r @ r < tol:
            return x, True
        x = x.copy()
        x[free] -= np.linalg.lstsq(brent.jacobian(x)[:, free], r, rcond=None)[0]
    return x, brent.sq(x) < tol


def _greedy(brent: Brent, x: np.ndarray, fixed: np.ndarray, target, order, tol: float,
            gauge: str | None, clock: Clock, bar=None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Try to pin free coordinates one at a time, most promising first (smallest order(x_i)), to
    target(x_i), re-solving the others; keep each move only if the residual stays below tol.
    After each kept move the slots are rescaled to `gauge` (None: not rescaled).  Returns the
    point, the pinned mask and whether every candidate was tried within the clock's budget."""
    tried = fixed.copy()
    while True:
        cand = np.flatnonzero(~tried)
        if cand.size == 0:
            return x, fixed, True
        if clock.spent():
            return x, fixed, False
        i = cand[np.argmin(order(x[cand]))]
        tried[i] = True
        if bar is not None:
            bar.update(1)
        trial = x.copy()
        trial[i] = target(x[i])
        pinned = fixed.copy()
        pinned[i] = True
        trial, ok = _resolve(brent, trial, ~pinned, tol)
        if ok:
            x, fixed = (brent.rescale(trial, gauge) if gauge else trial), pinned


GAUGES = ("unit", "balanced")


def _pin(brent: Brent, x: np.ndarray, tol: float, gauge: str, clock: Clock,
         progress: bool = False) -> tuple[np.ndarray, str | None]:
    """From an exact real solution x: zero greedily, then pin the nonzeros to +-1; returns the
    final vector and None, or a verdict string if the clock's budget ran out first."""
    x = brent.rescale(x, gauge)
    fixed = np.zeros(x.size, dtype=bool)
    with tqdm(total=x.size, desc=f"sparsify: zero ({gauge})", disable=not progress,
              leave=False) as bar:
        x, fixed, done = _greedy(brent, x, fixed, lambda v: 0.0, np.abs, tol, gauge, clock, bar)
        if done:
            bar.reset(total=int((~fixed).sum()))
            bar.set_description("sparsify: pin to +-1")
            x, fixed, done = _greedy(brent, x, fixed, np.sign, lambda v: np.abs(np.abs(v) - 1),
                                     tol, None, clock, bar)
    if done:
        return x, None
    return x, (f"time budget of {clock.seconds:g} s spent with {int(fixed.sum())} of {x.size} "
               f"coordinates pinned; the rest rounded")


def _solve_or_verdict(brent: Brent, x: np.ndarray, tol: float,
                      clock: Clock) -> tuple[np.ndarray, str | None]:
    """The exact real solution sparsify starts from, or a verdict saying why there is none."""
    y = _solve_exactly(brent, x, tol, clock)
    if not np.all(np.isfinite(y)):
        return y, "polish diverged: not crystallized"
    sq = brent.sq(y)
    if sq < tol:
        return y, None
    spent = f" in the time budget of {clock.seconds:g} s" if clock.spent() else ""
    return y, (f"polish reached squared residual {sq:.3g}{spent}, not an exact solution: "
               f"not crystallized")


def sparsify(fmt: tuple[int, int, int], U: np.ndarray, V: np.ndarray, W: np.ndarray,
             tol: float = 1e-22, gauge: str = "unit",
             budget: float = math.inf) -> tuple[np.ndarray, str | None]:
    """Our sparsify-and-pin: continuous weights -> nearly integral weights (flat [U|V|W]).

    Polish, zero the smallest free coordinates greedily, then pin the nonzeros to +-1 (each move
    kept only if the squared residual stays below tol); returns the final continuous vector
    (round it to get the scheme; no clamping) and None, or the polished vector and a verdict if
    the polish reached no exact solution or `budget` seconds ran out.  `gauge` is the slot
    rescaling used while zeroing (see GAUGES)."""
    if gauge not in GAUGES:
        raise ValueError(f"gauge must be one of {GAUGES}, got {gauge!r}")
    brent, clock = Brent(fmt, U.shape[0]), Clock(budget)
    x = np.concatenate([np.ravel(U), np.ravel(V), np.ravel(W)]).astype(np.float64)
    x, verdict = _solve_or_verdict(brent, x, tol, clock)
    return (x, verdict) if verdict else _pin(brent, x, tol, gauge, clock)


def crystallize(task: Task) -> Crystal:
    """Polish once, then try the gauges of GAUGES in turn and keep the first exact result (else
    the last attempt); when the clock's budget is spent the current weights are rounded."""
    brent, x, tol, clock = task.brent, task.x, task.tol, task.clock
    solved, verdict = _solve_or_verdict(brent, x, tol, clock)
    crystal = rounded_crystal(brent, solved, np.rint(solved), "sparsify", verdict)
    for gauge in GAUGES if verdict is None else ():  # the last attempt is kept
        y, verdict = _pin(brent, solved, tol, gauge, clock, task.progress)
        crystal = rounded_crystal(brent, y, np.rint(y), "sparsify", verdict)
        if crystal.exact or verdict:
            break
    return crystal
