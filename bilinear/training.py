"""The paper's training recipe, batched over R independent runs in one set of tensors.

All R runs live in one flat parameter tensor theta (R, D) = [U | V | W] per row, with
U (S, n*m), V (S, m*p), W (n*p, S) row-major.  The loss is the per-run mean squared error of
C = W((U a) * (V b)); its gradient is computed by hand (a handful of bmm calls) and the optimizer is
a hand-written AdamW whose arithmetic is that of torch.optim.AdamW, applied to every run at once
with independent state.  Each run draws its initialisation and its per-epoch shuffling from its own
seed, so a run trained inside a batch gives the same numbers as the same run trained alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from bilinear.data import derived_seed
from bilinear.model import init_model


@dataclass(frozen=True)
class Recipe:
    """Optimisation settings (the paper's: AdamW, lr 1e-3, weight decay 1e-4, 1000 epochs)."""

    epochs: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


@dataclass(frozen=True)
class Layout:
    """Shapes of one run's parameters inside a row of theta."""

    fmt: tuple[int, int, int]
    slots: int

    @property
    def sizes(self) -> tuple[int, int, int]:
        """Number of entries of U, V and W."""
        n, m, p = self.fmt
        return self.slots * n * m, self.slots * m * p, n * p * self.slots

    @property
    def dim(self) -> int:
        """Parameters per run, D."""
        return sum(self.sizes)


def pack(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Flatten U (R,S,nm), V (R,S,mp), W (R,np,S) into one contiguous theta (R, D)."""
    R = U.shape[0]
    return torch.cat([U.reshape(R, -1), V.reshape(R, -1), W.reshape(R, -1)], dim=1).contiguous()


def unpack(theta: torch.Tensor, layout: Layout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Views U (R,S,nm), V (R,S,mp), W (R,np,S) into theta (R, D); they share its storage."""
    n, m, p = layout.fmt
    S, R = layout.slots, theta.shape[0]
    su, sv, _ = layout.sizes
    U = theta[:, :su].view(R, S, n * m)
    V = theta[:, su:su + sv].view(R, S, m * p)
    W = theta[:, su + sv:].view(R, n * p, S)
    return U, V, W


def mse(theta: torch.Tensor, layout: Layout, a: torch.Tensor, b: torch.Tensor,
        c: torch.Tensor) -> torch.Tensor:
    """Per-run mean squared error (R,) on a (R,B,nm), b (R,B,mp), c (R,B,np)."""
    U, V, W = unpack(theta, layout)
    out = torch.bmm(torch.bmm(a, U.transpose(1, 2)) * torch.bmm(b, V.transpose(1, 2)),
                    W.transpose(1, 2))
    return (out - c).square().mean(dim=(1, 2))


def mse_and_grad(theta: torch.Tensor, layout: Layout, a: torch.Tensor, b: torch.Tensor,
                 c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-run MSE (R,) and its analytic gradient with respect to theta (R, D)."""
    U, V, W = unpack(theta, layout)
    R, B, npo = c.shape
    ua = torch.bmm(a, U.transpose(1, 2))
    vb = torch.bmm(b, V.transpose(1, 2))
    prod = ua * vb
    err = torch.bmm(prod, W.transpose(1, 2)) - c
    loss = err.square().mean(dim=(1, 2))
    g_out = err * (2.0 / (B * npo))
    g_prod = torch.bmm(g_out, W)
    gW = torch.bmm(g_out.transpose(1, 2), prod)
    gU = torch.bmm((g_prod * vb).transpose(1, 2), a)
    gV = torch.bmm((g_prod * ua).transpose(1, 2), b)
    return loss, torch.cat([gU.reshape(R, -1), gV.reshape(R, -1), gW.reshape(R, -1)], dim=1)


class BatchedAdamW:
    """AdamW on one (R, D) tensor, updated in place; element-wise, so every run keeps its own
    moments.  Same arithmetic, in the same order, as torch.optim.AdamW (amsgrad off)."""

    def __init__(self, theta: torch.Tensor, lr: float, weight_decay: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.theta, self.lr, self.weight_decay = theta, lr, weight_decay
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.steps = 0
        self.exp_avg = torch.zeros_like(theta)
        self.exp_avg_sq = torch.zeros_like(theta)

    def step(self, grad: torch.Tensor) -> None:
        """One AdamW update of theta with gradient grad (R, D)."""
        self.steps += 1
        step = float(self.steps)
        self.theta.mul_(1 - self.lr * self.weight_decay)
        self.exp_avg.lerp_(grad, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        step_size = self.lr / (1 - self.beta1**step)
        bias_correction2_sqrt = (1 - self.beta2**step) ** 0.5
        denom = (self.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
        self.theta.addcdiv_(self.exp_avg, denom, value=-step_size)


def init_runs(fmt: tuple[int, int, int], slots: int, seeds: Sequence[int], init: str = "symmetric",
              scale: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Initial U, V, W for one run per seed, each drawn from that seed's own stream."""
    models = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(derived_seed(seed, "init"))
        models.append(init_model(tuple(fmt), slots, 1, init, scale, gen).arrays())
    return tuple(torch.cat(parts, dim=0) for parts in zip(*models, strict=True))


def _table(data: dict, runs: int) -> tuple[torch.Tensor, int, int]:
    """Stack a, b, c into one (rows, nm+mp+np) table; rows hold R copies only if data is per run.

    Returns (table, number of pairs per run, row offset between runs)."""
    parts = [torch.as_tensor(np.asarray(data[k]), dtype=torch.float64) for k in "abc"]
    table = torch.cat(parts, dim=-1)
    if table.ndim == 2:
        return table.contiguous(), table.shape[0], 0
    if table.shape[0] != runs:
        raise ValueError(f"per-run data has {table.shape[0]} runs, expected {runs}")
    return table.reshape(-1, table.shape[-1]).contiguous(), table.shape[1], table.shape[1]


@dataclass
class TrainResult:
    """Trained parameters and per-epoch losses (epochs, R) evaluated on the full sets."""

    U: torch.Tensor
    V: torch.Tensor
    W: torch.Tensor
    train_loss: np.ndarray
    test_loss: np.ndarray


def train_runs(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor, train: dict, test: dict,
               recipe: Recipe, seeds: Sequence[int],
               callback: Callable[[int, torch.Tensor], None] | None = None,
               progress: bool = False, shuffle: str = "shuffle") -> TrainResult:
    """Train R runs at once with AdamW on mini-batches of the training pairs.

    train/test: dicts of arrays a, b, c, either shared (N, .) or per run (R, N, .).  Each run
    shuffles the training set every epoch with its own generator (from its seed); a last, smaller
    batch is kept.  After every epoch the full train and test MSE are recorded, and
    callback(epoch, theta) is called if given (epoch counts from 1; theta is live, clone it).
    `shuffle` names the seed purpose of the shuffling stream (bilinear.data.PURPOSES).
    """
    R, S, nm = U.shape
    npo = W.shape[1]
    mp = V.shape[2]
    layout = Layout(format_of(nm, mp, npo), S)
    if len(seeds) != R:
        raise ValueError(f"{len(seeds)} seeds for {R} runs")
    theta = pack(U, V, W).to(torch.float64)
    opt = BatchedAdamW(theta, recipe.lr, recipe.weight_decay, (recipe.beta1, recipe.beta2),
                       recipe.eps)
    table, n_pairs, stride = _table(train, R)
    test_table, n_test, test_stride = _table(test, R)
    offsets = (torch.arange(R) * stride).unsqueeze(1)
    full_train = _split(table[torch.arange(n_pairs) + offsets], nm, mp)
    full_test = _split(test_table[torch.arange(n_test) + (torch.arange(R) * test_stride)
                                  .unsqueeze(1)], nm, mp)
    gens = [torch.Generator().manual_seed(derived_seed(s, shuffle)) for s in seeds]
    losses = torch.empty(2, recipe.epochs, R, dtype=torch.float64)
    step = recipe.batch_size
    bounds = [(k, min(k + step, n_pairs)) for k in range(0, n_pairs, step)]
    for epoch in tqdm(range(recipe.epochs), desc="train", disable=not progress, leave=False):
        perm = torch.stack([torch.randperm(n_pairs, generator=g) for g in gens]) + offsets
        for lo, hi in bounds:
            _, grad = mse_and_grad(theta, layout, *_split(table[perm[:, lo:hi]], nm, mp))
            opt.step(grad)
        losses[0, epoch] = mse(theta, layout, *full_train)
        losses[1, epoch] = mse(theta, layout, *full_test)
        if callback is not None:
            callback(epoch + 1, theta)
    U, V, W = (t.clone() for t in unpack(theta, layout))
    return TrainResult(U, V, W, losses[0].numpy(), losses[1].numpy())


def dataset_mse(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor, data: dict) -> np.ndarray:
    """Per-run MSE (R,) of U, V, W on a whole dataset (arrays a, b, c shared or per run)."""
    R, _, nm = U.shape
    layout = Layout(format_of(nm, V.shape[2], W.shape[1]), U.shape[1])
    table, n_pairs, stride = _table(data, R)
    rows = table[torch.arange(n_pairs) + (torch.arange(R) * stride).unsqueeze(1)]
    theta = pack(U, V, W).to(torch.float64)
    return mse(theta, layout, *_split(rows, nm, V.shape[2])).numpy()


def _split(batch: torch.Tensor, nm: int, mp: int) -> tuple[torch.Tensor, ...]:
    return batch[..., :nm], batch[..., nm:nm + mp], batch[..., nm + mp:]


def format_of(nm: int, mp: int, npo: int) -> tuple[int, int, int]:
    """Recover <n,m,p> from n*m, m*p and n*p."""
    n = round(math.sqrt(nm * npo / mp))
    m, p = nm // n, npo // n
    if n * m != nm or m * p != mp or n * p != npo:
        raise ValueError(f"sizes {nm}, {mp}, {npo} are not n*m, m*p, n*p of any format")
    return n, m, p


def grokking_epoch(train_loss: np.ndarray, test_loss: np.ndarray, plateau: int = 100,
                   train_below: float = 1e-6, test_above: float = 0.1,
                   drop_factor: float = 10.0, drop_within: int = 50) -> int | None:
    """The paper's operational grokking: >= `plateau` epochs with train loss < `train_below` and
    test loss > `test_above`, then an abrupt drop of the test loss (below test_above / drop_factor
    within `drop_within` epochs of the plateau's end).  Returns the 1-based epoch at which the
    test loss first falls to <= test_above after such a plateau, or None."""
    train_loss, test_loss = np.asarray(train_loss), np.asarray(test_loss)
    run = 0
    for e in range(len(test_loss)):
        if train_loss[e] < train_below and test_loss[e] > test_above:
            run += 1
            continue
        if run >= plateau and test_loss[e] <= test_above:
            window = test_loss[e:e + drop_within]
            if window.min() <= test_above / drop_factor:
                return e + 1
        run = 0
    return None
