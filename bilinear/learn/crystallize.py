"""Crystallization: prune slots, then turn continuous weights into an exact integer scheme.

Two discretizations of one run's U (S, nm), V (S, mp), W (np, S):

- ``round`` (the paper's): round every weight and clamp it to {-1, 0, 1}.
- ``sparsify`` (ours): polish to an exact real solution of the Brent equations
  (Levenberg-Marquardt on the tensor residual; if it stalls, a norm-penalised continuation
  first), greedily set the smallest free coordinate to 0 and
  re-solve the other free coordinates by minimum-norm Gauss-Newton (the move is kept only if the
  squared residual stays below ``tol``), rescaling slots to unit max-entry in U and V; then pin the
  remaining nonzeros to +-1 the same way; then round.

Either way the margin is max |theta - Q(theta)| of the weights that are rounded, and success is
decided by the exact verifier alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bilinear.algebra.schemes import Scheme, matmul_tensor, verify

METHODS = ("round", "sparsify", "anneal")  # anneal: bilinear.learn.anneal (gradient steps only)


def slot_importance(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Importance (R, S) of every slot: ||U_s|| * ||V_s|| * ||W_:,s||."""
    return U.norm(dim=2) * V.norm(dim=2) * W.norm(dim=1)


def prune(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor,
          slots: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Remove the least important slot of every run, one at a time, until `slots` remain.

    Returns the pruned U (R,slots,nm), V (R,slots,mp), W (R,np,slots) and the removed slot indices
    (R, S - slots) in the numbering of the input."""
    R, S, _ = U.shape
    if not 1 <= slots <= S:
        raise ValueError(f"cannot prune {S} slots to {slots}")
    keep = torch.arange(S).expand(R, S).clone()
    for _ in range(S - slots):
        imp = slot_importance(U, V, W)
        weakest = imp.argmin(dim=1, keepdim=True)
        mask = torch.ones_like(imp, dtype=torch.bool).scatter_(1, weakest, False)
        rows = mask.sum(dim=1)[0]
        U = U[mask].view(R, rows, -1)
        V = V[mask].view(R, rows, -1)
        W = W.transpose(1, 2)[mask].view(R, rows, -1).transpose(1, 2)
        keep = keep[mask].view(R, rows)
    removed = torch.stack([torch.tensor(sorted(set(range(S)) - set(k.tolist())), dtype=torch.long)
                           for k in keep]) if slots < S else torch.empty(R, 0, dtype=torch.long)
    return U.contiguous(), V.contiguous(), W.contiguous(), removed


def margin(values: np.ndarray, quantized: np.ndarray) -> float:
    """Discretization margin delta = max |theta - Q(theta)|."""
    return float(np.max(np.abs(np.asarray(values) - np.asarray(quantized)))) if values.size else 0.0


def round_clamp(values: np.ndarray) -> np.ndarray:
    """The paper's Q: round to the nearest integer and clamp to {-1, 0, 1}."""
    return np.clip(np.rint(values), -1, 1)


class _Brent:
    """The tensor residual and its Jacobian for one run, on the flat vector x = [U | V | W]."""

    def __init__(self, fmt: tuple[int, int, int], rank: int):
        n, m, p = fmt
        self.fmt, self.rank = tuple(fmt), rank
        self.dims = (n * m, m * p, n * p)
        self.target = matmul_tensor(n, m, p).astype(np.float64)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b, c = self.dims
        R = self.rank
        return (x[:R * a].reshape(R, a), x[R * a:R * (a + b)].reshape(R, b),
                x[R * (a + b):].reshape(c, R))

    def residual(self, x: np.ndarray) -> np.ndarray:
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


class _Clock:
    """A wall-clock budget for one crystallization (seconds; inf = unbounded)."""

    def __init__(self, seconds: float = math.inf):
        self.seconds, self.start = seconds, time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def spent(self) -> bool:
        return self.elapsed() > self.seconds


def _polish(brent: _Brent, x: np.ndarray, iters: int = 300, tol: float = 1e-28,
            mu: float = 0.0, clock: _Clock | None = None) -> np.ndarray:
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


def _solve_exactly(brent: _Brent, x: np.ndarray, tol: float,
                   clock: _Clock | None = None) -> np.ndarray:
    """An exact real solution near x: plain LM; if it stalls (a degenerate configuration with
    diverging coefficients), LM again from x with a vanishing norm penalty, then plain LM."""
    polished = _polish(brent, x, clock=clock)
    if brent.sq(polished) < tol:
        return polished
    return _polish(brent, _polish(brent, x, iters=400, mu=1e-2, clock=clock), clock=clock)


def _resolve(brent: _Brent, x: np.ndarray, free: np.ndarray, tol: float,
             iters: int = 12) -> tuple[np.ndarray, bool]:
    """Minimum-norm Gauss-Newton on the free coordinates until the squared residual < tol."""
    for _ in range(iters):
        r = brent.residual(x)
        if r @ r < tol:
            return x, True
        x = x.copy()
        x[free] -= np.linalg.lstsq(brent.jacobian(x)[:, free], r, rcond=None)[0]
    return x, brent.sq(x) < tol


def _greedy(brent: _Brent, x: np.ndarray, fixed: np.ndarray, target, order, tol: float,
            gauge: str | None, clock: _Clock, bar=None) -> tuple[np.ndarray, np.ndarray, bool]:
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


def _pin(brent: _Brent, x: np.ndarray, tol: float, gauge: str, clock: _Clock,
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


def _solve_or_verdict(brent: _Brent, x: np.ndarray, tol: float,
                      clock: _Clock) -> tuple[np.ndarray, str | None]:
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
    brent, clock = _Brent(fmt, U.shape[0]), _Clock(budget)
    x = np.concatenate([np.ravel(U), np.ravel(V), np.ravel(W)]).astype(np.float64)
    x, verdict = _solve_or_verdict(brent, x, tol, clock)
    return (x, verdict) if verdict else _pin(brent, x, tol, gauge, clock)


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


def discretize(fmt: tuple[int, int, int], U: np.ndarray, V: np.ndarray, W: np.ndarray,
               method: str, tol: float = 1e-22, budget: float = 120.0,
               progress: bool = False, anneal: dict | None = None) -> Crystal:
    """Discretize one run's U (S,nm), V (S,mp), W (np,S) with `method` and verify exactly.

    `sparsify` polishes once, then tries the gauges of GAUGES in turn and keeps the first exact
    result (else the last attempt); it stops after `budget` seconds (then the current weights
    are rounded and verified) and shows its progress if `progress`.  `anneal` trains on, given
    the keyword arguments `anneal` of bilinear.learn.anneal.anneal_one.  The result records
    input_residual, the largest Brent-equation residual of the continuous input: how far the
    weights were from any exact scheme before discretizing.  BLAS runs single-threaded meanwhile
    (the matrices are tiny: threads only add contention)."""
    if not budget > 0:
        raise ValueError(f"budget must be > 0 seconds, got {budget!r}")
    with threadpool_limits(1):
        return _discretize(fmt, U, V, W, method, tol, _Clock(budget), progress, anneal)


def _discretize(fmt, U, V, W, method: str, tol: float, clock: _Clock, progress: bool,
                anneal: dict | None = None) -> Crystal:
    U, V, W = (np.asarray(t, dtype=np.float64) for t in (U, V, W))
    x = np.concatenate([U.ravel(), V.ravel(), W.ravel()])
    brent = _Brent(fmt, U.shape[0])
    if method == "round":
        crystal = _crystal(brent, x, round_clamp(x), method, None)
    elif method == "sparsify":
        solved, verdict = _solve_or_verdict(brent, x, tol, clock)
        crystal = _crystal(brent, solved, np.rint(solved), method, verdict)
        for gauge in GAUGES if verdict is None else ():  # the last attempt is kept
            y, verdict = _pin(brent, solved, tol, gauge, clock, progress)
            crystal = _crystal(brent, y, np.rint(y), method, verdict)
            if crystal.exact or verdict:
                break
    elif method == "anneal":
        if anneal is None:
            raise ValueError("method anneal needs its training pairs, recipe, schedule and seed")
        from bilinear.learn.anneal import anneal_one  # imports this module: import on use
        crystal = anneal_one(fmt, U, V, W, **anneal)
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    crystal.input_residual = float(np.abs(brent.residual(x)).max())
    crystal.seconds = clock.elapsed()
    return crystal


def _crystal(brent: _Brent, x: np.ndarray, q: np.ndarray, method: str,
             verdict: str | None) -> Crystal:
    x, q = (np.where(np.isfinite(t), t, 0.0) for t in (x, q))  # a diverged solve fails, not JSON
    Uq, Vq, Wq = (t.astype(np.int64) for t in brent.split(q))
    scheme = Scheme(brent.fmt, Uq, Vq, Wq)
    exact = verify(scheme)
    if exact:
        verdict = f"crystallized: exact scheme of rank {scheme.rank}, {scheme.nonzeros()} nonzeros"
    elif verdict is None:
        verdict = "the rounded weights fail the exact check: not crystallized"
    return Crystal(scheme, margin(x, q), exact, method, verdict=verdict)
