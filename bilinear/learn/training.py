"""The paper's training recipe, batched over R independent runs in one set of tensors.

All R runs live in one flat parameter array theta (R, D) = [U | V | W] per row, with
U (S, n*m), V (S, m*p), W (n*p, S) row-major.  The loss is the per-run mean squared error of
C = W((U a) * (V b)); its gradient is computed by hand (six stacked numpy matmuls on contiguous
operands, far cheaper per call than torch.bmm at these tiny sizes) and the optimizer is a
hand-written AdamW whose arithmetic is that of torch.optim.AdamW (torch ops on the same memory),
applied to every run at once with independent state.  Each epoch's batches are gathered once per
epoch; the per-epoch train and test losses over the whole sets come from second moments of the
pairs (set_mse), without a pass over the data.  Each run draws its initialisation and shuffling
from its own seed, so a run trained inside a batch gives the same numbers as the run trained alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bilinear.algebra.schemes import matmul_tensor
from bilinear.checks import require_memory
from bilinear.learn.model import init_model
from bilinear.params import RECIPE
from bilinear.seeds import derived_seed


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

    @classmethod
    def from_params(cls, cfg: dict) -> Recipe:
        """The recipe of a validated params block (bilinear.params.RECIPE keys; extra keys are
        ignored)."""
        return cls(**{k: cfg[k] for k in RECIPE})


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


def unpack(theta, layout: Layout):
    """Views U (R,S,nm), V (R,S,mp), W (R,np,S) into theta (R, D) (numpy or torch)."""
    n, m, p = layout.fmt
    S, R = layout.slots, theta.shape[0]
    su, sv, _ = layout.sizes
    U = theta[:, :su].reshape(R, S, n * m)
    V = theta[:, su:su + sv].reshape(R, S, m * p)
    W = theta[:, su + sv:].reshape(R, n * p, S)
    return U, V, W


def mse(theta: np.ndarray, layout: Layout, a: np.ndarray, b: np.ndarray,
        c: np.ndarray) -> np.ndarray:
    """Per-run mean squared error (R,) of theta (R, D) on a (R,B,nm), b (R,B,mp), c (R,B,np)."""
    U, V, W = unpack(theta, layout)
    out = ((a @ _t(U)) * (b @ _t(V))) @ _t(W)
    out -= c
    return np.square(out).mean(axis=(1, 2))


def pair_moments(data: dict, runs: int) -> np.ndarray:
    """Second moments M (R, nm*mp, nm*mp) = mean over pairs of (a (x) b)(a (x) b)^T.

    With them the MSE over a whole set of pairs whose c is the exact product A @ B is a quadratic
    form in the tensor residual (see set_mse): the per-epoch loss costs nothing per pair."""
    a, b, _ = _per_run(data, runs)
    ab = (a[:, :, :, None] * b[:, :, None, :]).reshape(runs, a.shape[1], -1)
    return ab.transpose(0, 2, 1) @ ab / a.shape[1]


def set_mse(theta: np.ndarray, layout: Layout, moments: np.ndarray) -> np.ndarray:
    """Per-run MSE over sets of pairs with c = A @ B, from their pair_moments: with the residual
    E = sum_s U_s (x) V_s (x) W_s - T, MSE = sum_k E_k^T M E_k / (n*p).  moments (R, q, q) gives
    (R,); a stack (K, R, q, q) of K sets gives (K, R), all in one pass."""
    U, V, W = unpack(theta, layout)
    n, m, p = layout.fmt
    R, S = len(theta), layout.slots
    target = matmul_tensor(n, m, p).reshape(n * m * m * p, n * p)
    uv = (U[:, :, :, None] * V[:, :, None, :]).reshape(R, S, -1)
    E = uv.transpose(0, 2, 1) @ _t(W) - target
    return (moments @ E * E).sum(axis=(-2, -1)) / (n * p)


def mse_and_grad(theta: np.ndarray, layout: Layout, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                 grad: np.ndarray | None = None) -> np.ndarray:
    """Analytic gradient (R, D) of the per-run MSE with respect to theta (R, D), written into
    `grad` if given.  a (R,B,nm), b (R,B,mp), c (R,B,np) need unit stride in their last axis."""
    U, V, W = unpack(theta, layout)
    grad = np.empty_like(theta) if grad is None else grad
    gU, gV, gW = unpack(grad, layout)
    ua = a @ _t(U)
    vb = b @ _t(V)
    prod = ua * vb
    err = prod @ _t(W)
    err -= c
    err *= 2.0 / (c.shape[1] * c.shape[2])
    np.matmul(err.transpose(0, 2, 1), prod, out=gW)
    g_prod = err @ W
    vb *= g_prod
    ua *= g_prod
    np.matmul(vb.transpose(0, 2, 1), a, out=gU)
    np.matmul(ua.transpose(0, 2, 1), b, out=gV)
    return grad


def _t(X: np.ndarray) -> np.ndarray:
    """Contiguous transpose of a stack of matrices (fast second operand for matmul)."""
    return np.ascontiguousarray(X.transpose(0, 2, 1))


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


def _per_run(data: dict, runs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays a, b, c as (R, N, .) float64 (a read-only broadcast view when data is shared)."""
    out = []
    for key in "abc":
        arr = np.asarray(data[key], dtype=np.float64)
        if arr.ndim == 2:
            arr = np.broadcast_to(arr, (runs, *arr.shape))
        elif arr.shape[0] != runs:
            raise ValueError(f"per-run data has {arr.shape[0]} runs, expected {runs}")
        out.append(arr)
    return tuple(out)


def _tables(data: dict, runs: int) -> tuple[tuple[np.ndarray, ...], int, np.ndarray]:
    """Contiguous arrays a, b, c of the pairs: (N, .) when shared, (R*N, .) when per run, so
    that an epoch's gather gives each of them contiguous (R, N, .).

    Returns ((a, b, c), pairs per run, row offset of each run (R, 1))."""
    arrays = tuple(np.ascontiguousarray(data[k], dtype=np.float64) for k in "abc")
    if len({x.shape[:-1] for x in arrays}) != 1 or len({x.ndim for x in arrays}) != 1:
        raise ValueError(f"arrays a, b, c disagree on the pairs: shapes "
                         f"{[x.shape for x in arrays]}")
    if arrays[0].ndim == 2:
        return arrays, arrays[0].shape[0], np.zeros((runs, 1), dtype=np.int64)
    if arrays[0].shape[0] != runs:
        raise ValueError(f"per-run data has {arrays[0].shape[0]} runs, expected {runs}")
    n = arrays[0].shape[1]
    flat = tuple(x.reshape(runs * n, -1) for x in arrays)
    return flat, n, np.arange(runs)[:, None] * n


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
               progress: bool = False, shuffle: str = "shuffle",
               penalty: Callable[[int, np.ndarray, np.ndarray], None] | None = None) -> TrainResult:
    """Train R runs at once with AdamW on mini-batches of the training pairs.

    train/test: dicts of arrays a, b, c, either shared (N, .) or per run (R, N, .).  Each run
    shuffles the training set every epoch with its own generator (from its seed); a last, smaller
    batch is kept.  After every epoch the full train and test MSE are recorded, and
    callback(epoch, theta) is called if given (epoch counts from 1; theta (R, D) is live: copy it).
    `shuffle` names the seed purpose of the shuffling stream (bilinear.seeds.PURPOSES).  BLAS runs
    single-threaded meanwhile (tiny matrices: threads only add contention).
    penalty(epoch, theta, grad), if given, adds the gradient of extra loss terms (R, D) to grad in
    place before every step (epoch counts from 1; bilinear.learn.methods.anneal's L1 and rounding
    terms).
    """
    with threadpool_limits(1):
        return _train_runs(U, V, W, train, test, recipe, seeds, callback, progress, shuffle,
                           penalty)


def _train_runs(U, V, W, train, test, recipe, seeds, callback, progress, shuffle,
                penalty=None) -> TrainResult:
    R, S, nm = U.shape
    layout = Layout(format_of(nm, V.shape[2], W.shape[1]), S)
    if len(seeds) != R:
        raise ValueError(f"{len(seeds)} seeds for {R} runs")
    theta_t = pack(U, V, W).to(torch.float64)
    theta, grad = theta_t.numpy(), np.zeros(theta_t.shape)
    opt = BatchedAdamW(theta_t, recipe.lr, recipe.weight_decay, (recipe.beta1, recipe.beta2),
                       recipe.eps)
    grad_t = torch.from_numpy(grad)
    tables, n_pairs, offsets = _tables(train, R)
    moments = np.stack([pair_moments(train, R), pair_moments(test, R)])
    rows = np.empty((R, n_pairs), dtype=np.int64)
    gathered = a, b, c = tuple(np.empty((R, n_pairs, t.shape[1])) for t in tables)
    gens = [torch.Generator().manual_seed(derived_seed(s, shuffle)) for s in seeds]
    losses = np.empty((2, recipe.epochs, R))
    step = recipe.batch_size
    bounds = [(k, min(k + step, n_pairs)) for k in range(0, n_pairs, step)]
    for epoch in tqdm(range(recipe.epochs), desc="train", disable=not progress, leave=False):
        perm = torch.stack([torch.randperm(n_pairs, generator=g) for g in gens]).numpy()
        np.add(perm, offsets, out=rows)
        for table, buf in zip(tables, gathered, strict=True):
            np.take(table, rows, axis=0, out=buf, mode="clip")  # valid by construction
        for lo, hi in bounds:
            mse_and_grad(theta, layout, a[:, lo:hi], b[:, lo:hi], c[:, lo:hi], grad)
            if penalty is not None:
                penalty(epoch + 1, theta, grad)
            opt.step(grad_t)
        losses[:, epoch] = set_mse(theta, layout, moments)
        if callback is not None:
            callback(epoch + 1, theta_t)
    U, V, W = (t.clone() for t in unpack(theta_t, layout))
    return TrainResult(U, V, W, losses[0], losses[1])


def dataset_mse(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor, data: dict) -> np.ndarray:
    """Per-run MSE (R,) of U, V, W on a whole dataset (arrays a, b, c shared or per run)."""
    R, S, nm = U.shape
    layout = Layout(format_of(nm, V.shape[2], W.shape[1]), S)
    theta = pack(U, V, W).to(torch.float64).numpy()
    return mse(theta, layout, *_per_run(data, R))


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


def check_memory(section: str, fmt: tuple[int, int, int], slots: int, epochs: int, rows: int,
                 runs: int = 1, epochs_key: str = "epochs") -> None:
    """ParamError naming section.<epochs_key> or section.slots when training `runs`
    runs of `slots` slots for `epochs` epochs on `rows` pairs would need more memory than the
    machine has: per epoch the loss histories and a stage's per-epoch records (~512 bytes),
    per slot the weights, gradients and AdamW moments plus a batch of activations (the full
    data set when the losses are evaluated)."""
    n, m, p = fmt
    dim = n * m + m * p + n * p
    require_memory(f"{section}.{epochs_key}", epochs * (16 * runs + 512),
                   f"{epochs} epochs of loss history")
    require_memory(f"{section}.slots", 8 * runs * slots * (6 * dim + 3 * rows),
                   f"{runs} run(s) of {slots} slots on {rows} pairs")
