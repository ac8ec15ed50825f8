"""Method ``anneal``: crystallization by training, gradient steps only, batched over R runs.

A pruned model is trained on with AdamW, on the same training pairs and mini-batches as the recipe
(its batch size, learning rate and weight decay), in three phases:

1. fit: ``fit_epochs`` of the plain data loss;
2. sparsity: ``l1_epochs`` adding ``l1 * |theta|_1``; every ``rescale_every`` epochs each slot is
   rescaled so that its U and V parts have unit max-abs, W compensating (a gauge move: the product
   is unchanged);
3. discreteness: ``penalty_epochs`` adding the L1 term and ``w * sum sin^2(pi theta)`` (or the
   squared distance to the nearest value of {-1, 0, 1}), w rising geometrically from
   ``penalty_start`` to ``penalty_end``; the gauge moves go on.

Then the paper's Q (round and clamp to {-1, 0, 1}) and the exact verifier decide.  No algebraic
solve anywhere: every change of the weights is a gradient step on data loss + penalties or a
product-preserving rescale.  ``loss = "tensor"`` is the noise-free control: the same phases on
the exact tensor loss |sum_s U_s (x) V_s (x) W_s - T|^2 / (n p), full gradient, with as many
optimizer steps as the mini-batch schedule takes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bilinear.algebra.schemes import Scheme, matmul_tensor, verify
from bilinear.learn.crystal import Crystal, Task, margin, round_clamp
from bilinear.learn.training import (
    BatchedAdamW,
    Layout,
    Recipe,
    format_of,
    pack,
    train_runs,
    unpack,
)
from bilinear.params import ANNEAL_LOSSES as LOSSES
from bilinear.params import ANNEAL_PENALTIES as PENALTIES


@dataclass(frozen=True)
class Schedule:
    """The anneal's phases and penalties (params `anneal`)."""

    fit_epochs: int = 600
    l1_epochs: int = 600
    penalty_epochs: int = 600
    l1: float = 1e-3
    rescale_every: int = 5
    penalty: str = "sin2"
    penalty_start: float = 1e-4
    penalty_end: float = 0.1
    loss: str = "data"

    @classmethod
    def from_params(cls, cfg: dict, **overrides) -> Schedule:
        """The schedule of validated params `anneal` (bilinear.params.ANNEAL), with overrides."""
        keys = ("fit_epochs", "l1_epochs", "penalty_epochs", "l1", "rescale_every", "penalty",
                "penalty_start", "penalty_end")
        return cls(**{**{k: cfg[k] for k in keys}, **overrides})

    def scaled(self, factor: float) -> Schedule:
        """The same schedule with every phase's epochs multiplied by factor (at least 1 epoch
        for a phase that had any): the equal-steps protocol."""
        def f(e: int) -> int:
            return max(1, round(e * factor)) if e else 0
        return Schedule(f(self.fit_epochs), f(self.l1_epochs), f(self.penalty_epochs), self.l1,
                        self.rescale_every, self.penalty, self.penalty_start, self.penalty_end,
                        self.loss)

    @property
    def epochs(self) -> int:
        """Epochs of all three phases."""
        return self.fit_epochs + self.l1_epochs + self.penalty_epochs

    def weight(self, epoch: int) -> float:
        """Discreteness weight at 1-based `epoch`: 0 before phase 3, then geometric in it."""
        k = epoch - self.fit_epochs - self.l1_epochs
        if k < 1 or self.penalty_epochs == 0 or self.penalty_end == 0:
            return 0.0
        frac = (k - 1) / max(self.penalty_epochs - 1, 1)
        return self.penalty_start * (self.penalty_end / self.penalty_start) ** frac

    def l1_at(self, epoch: int) -> float:
        """L1 strength at 1-based `epoch`: 0 during the fit, then `l1`."""
        return self.l1 if epoch > self.fit_epochs else 0.0


def discreteness(theta: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-run penalty (R,) and its gradient (R, D): sum sin^2(pi theta) ('sin2') or the squared
    distance to the nearest value of {-1, 0, 1} ('nearest')."""
    if kind == "sin2":
        return (np.sin(np.pi * theta) ** 2).sum(axis=1), np.pi * np.sin(2 * np.pi * theta)
    if kind == "nearest":
        d = theta - round_clamp(theta)
        return (d * d).sum(axis=1), 2 * d
    raise ValueError(f"penalty must be one of {PENALTIES}, got {kind!r}")


def gauge_unit(theta: np.ndarray, layout: Layout) -> None:
    """In place: rescale every slot of every run to unit max-abs U and V parts, W compensating
    (the product W((U a) * (V b)) is unchanged; slots with a zero part are left alone)."""
    U, V, W = unpack(theta, layout)
    su, sv = np.abs(U).max(axis=2), np.abs(V).max(axis=2)
    ok = (su > 0) & (sv > 0)
    su, sv = np.where(ok, su, 1.0), np.where(ok, sv, 1.0)
    U /= su[:, :, None]
    V /= sv[:, :, None]
    W *= (su * sv)[:, None, :]


class _Terms:
    """The penalty hook of train_runs: adds the L1 and discreteness gradients of the schedule."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        self.epoch, self.l1, self.w = 0, 0.0, 0.0
        self.buf: np.ndarray | None = None

    def __call__(self, epoch: int, theta: np.ndarray, grad: np.ndarray) -> None:
        if epoch != self.epoch:
            self.epoch = epoch
            self.l1, self.w = self.schedule.l1_at(epoch), self.schedule.weight(epoch)
        if self.buf is None or self.buf.shape != theta.shape:
            self.buf = np.empty_like(theta)
        buf = self.buf
        if self.l1:
            np.sign(theta, out=buf)
            buf *= self.l1
            grad += buf
        if self.w and self.schedule.penalty == "sin2":  # d/dt sin^2(pi t) = pi sin(2 pi t)
            np.multiply(theta, 2 * np.pi, out=buf)
            np.sin(buf, out=buf)
            buf *= self.w * np.pi
            grad += buf
        elif self.w:
            grad += self.w * discreteness(theta, self.schedule.penalty)[1]


def _gauge_due(schedule: Schedule, epoch: int) -> bool:
    k = epoch - schedule.fit_epochs
    return k > 0 and schedule.rescale_every > 0 and k % schedule.rescale_every == 0


def tensor_loss_grad(theta: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Per-run exact tensor loss |E|^2 / (n p) (R,) and its gradient (R, D), E the residual of
    sum_s U_s (x) V_s (x) W_s against the matrix-multiplication tensor."""
    n, m, p = layout.fmt
    U, V, W = unpack(theta, layout)
    E = np.einsum("rsi,rsj,rks->rijk", U, V, W) - matmul_tensor(n, m, p)
    scale = 2.0 / (n * p)
    grad = np.concatenate([
        np.einsum("rijk,rsj,rks->rsi", E, V, W).reshape(len(theta), -1),
        np.einsum("rijk,rsi,rks->rsj", E, U, W).reshape(len(theta), -1),
        np.einsum("rijk,rsi,rsj->rks", E, U, V).reshape(len(theta), -1)], axis=1) * scale
    return (E * E).sum(axis=(1, 2, 3)) / (n * p), grad


@dataclass
class Annealed:
    """Continuous weights after the anneal (before Q) and the final loss of each run."""

    U: torch.Tensor
    V: torch.Tensor
    W: torch.Tensor
    loss: np.ndarray


def anneal_runs(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor, train: dict, recipe: Recipe,
                schedule: Schedule, seeds: Sequence[int], progress: bool = False) -> Annealed:
    """Anneal R pruned runs U (R,S,nm), V (R,S,mp), W (R,np,S) at once.

    train: the runs' training pairs (shared (N, .) or per run (R, N, .)); recipe: their batch
    size, lr and weight decay (its epochs are ignored: the schedule's are used); seeds: each run's
    mini-batch stream (a run's shuffling is its own, as in train_runs)."""
    if schedule.penalty not in PENALTIES or schedule.loss not in LOSSES:
        raise ValueError(f"penalty in {PENALTIES}, loss in {LOSSES}: got {schedule}")
    R, S, nm = U.shape
    layout = Layout(format_of(nm, V.shape[2], W.shape[1]), S)
    run = Recipe(epochs=max(schedule.epochs, 1), batch_size=recipe.batch_size, lr=recipe.lr,
                 weight_decay=recipe.weight_decay, beta1=recipe.beta1, beta2=recipe.beta2,
                 eps=recipe.eps)
    if schedule.epochs == 0:
        theta = pack(U, V, W).to(torch.float64)
        return Annealed(*(t.clone() for t in unpack(theta, layout)),
                        tensor_loss_grad(theta.numpy(), layout)[0])
    if schedule.loss == "tensor":
        n_pairs = np.asarray(train["a"]).shape[-2]
        return _tensor_anneal(U, V, W, layout, run, schedule,
                              math.ceil(n_pairs / recipe.batch_size), progress)

    def gauge(epoch: int, theta: torch.Tensor) -> None:
        if _gauge_due(schedule, epoch):
            gauge_unit(theta.numpy(), layout)

    result = train_runs(U, V, W, train, train, run, seeds, callback=gauge, progress=progress,
                        penalty=_Terms(schedule))
    return Annealed(result.U, result.V, result.W, result.train_loss[-1])


def _tensor_anneal(U, V, W, layout: Layout, recipe: Recipe, schedule: Schedule,
                   steps_per_epoch: int, progress: bool) -> Annealed:
    """The schedule on the exact tensor loss, steps_per_epoch full-gradient steps per epoch."""
    theta_t = pack(U, V, W).to(torch.float64)
    theta = theta_t.numpy()
    opt = BatchedAdamW(theta_t, recipe.lr, recipe.weight_decay, (recipe.beta1, recipe.beta2),
                       recipe.eps)
    terms = _Terms(schedule)
    with threadpool_limits(1):
        for epoch in tqdm(range(1, schedule.epochs + 1), desc="anneal (tensor)",
                          disable=not progress, leave=False):
            for _ in range(steps_per_epoch):
                grad = tensor_loss_grad(theta, layout)[1]
                terms(epoch, theta, grad)
                opt.step(torch.from_numpy(grad))
            if _gauge_due(schedule, epoch):
                gauge_unit(theta, layout)
    return Annealed(*(t.clone() for t in unpack(theta_t, layout)),
                    tensor_loss_grad(theta, layout)[0])


def crystal_of(fmt: tuple[int, int, int], U: np.ndarray, V: np.ndarray,
               W: np.ndarray) -> Crystal:
    """The anneal's last step for one run: the paper's Q (round, clamp) and the exact verifier."""
    x = np.concatenate([np.ravel(U), np.ravel(V), np.ravel(W)]).astype(np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    q = round_clamp(x)
    S = U.shape[0]
    su, sv = U.size, V.size
    scheme = Scheme(tuple(fmt), q[:su].reshape(S, -1).astype(np.int64),
                    q[su:su + sv].reshape(S, -1).astype(np.int64),
                    q[su + sv:].reshape(-1, S).astype(np.int64))
    n, m, p = fmt
    T = matmul_tensor(n, m, p)
    residual = np.einsum("si,sj,ks->ijk", np.asarray(U, float), np.asarray(V, float),
                         np.asarray(W, float)) - T
    exact = verify(scheme)
    verdict = (f"crystallized: exact scheme of rank {scheme.rank}, {scheme.nonzeros()} nonzeros"
               if exact else "the annealed weights round to a scheme that fails the exact check: "
               "not crystallized")
    return Crystal(scheme, margin(x, q), exact, "anneal", float(np.abs(residual).max()), verdict)


def anneal_crystals(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor, train: dict,
                    recipe: Recipe, schedule: Schedule, seeds: Sequence[int],
                    progress: bool = False) -> tuple[list[Crystal], Annealed]:
    """anneal_runs, then crystal_of every run: (crystals in run order, the annealed weights)."""
    out = anneal_runs(U, V, W, train, recipe, schedule, seeds, progress)
    fmt = format_of(U.shape[2], V.shape[2], W.shape[1])
    crystals = [crystal_of(fmt, out.U[r].numpy(), out.V[r].numpy(), out.W[r].numpy())
                for r in range(U.shape[0])]
    return crystals, out


def anneal_one(fmt: tuple[int, int, int], U: np.ndarray, V: np.ndarray, W: np.ndarray, *,
               train: dict, recipe: Recipe, schedule: Schedule, seed: int) -> Crystal:
    """Anneal one run's U (S,nm), V (S,mp), W (np,S) (see crystallize)."""
    if format_of(U.shape[1], V.shape[1], W.shape[0]) != tuple(fmt):
        raise ValueError(f"weights of shapes {U.shape}, {V.shape}, {W.shape} are not {fmt}")
    stacked = (torch.as_tensor(np.asarray(t, dtype=np.float64))[None] for t in (U, V, W))
    return anneal_crystals(*stacked, train, recipe, schedule, [seed])[0][0]


def crystallize(task: Task) -> Crystal:
    """anneal_one of the task's run, given its keyword arguments `task.anneal`."""
    if task.anneal is None:
        raise ValueError("method anneal needs its training pairs, recipe, schedule and seed")
    return anneal_one(task.brent.fmt, task.U, task.V, task.W, **task.anneal)
