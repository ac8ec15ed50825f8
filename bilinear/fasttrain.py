"""The training recipe of bilinear.training for many small runs at once, in numpy.

Same math as :func:`bilinear.training.train_runs` (per-run MSE of C = W((U a) * (V b)), its
hand-written gradient, AdamW with the arithmetic of torch.optim.AdamW, one shuffling generator per
run drawn exactly as there), laid out for speed at the study's sizes (tens of runs, 2x2 matrices,
batches of 8 to 128 pairs), where torch's per-call overhead and its float64 batched matmul dominate:

- each step is seven stacked numpy matmuls in a feature-major layout (samples along the last axis)
  and in-place updates on preallocated buffers; each epoch's shuffled pairs are gathered once, into
  one preallocated buffer whose batches are views;
- the per-epoch dataset losses come from the second moments of the data: for exact products
  c = T*(a, b), MSE = sum_k d_k' M d_k / np with d = T_hat - T* (the model's tensor minus the
  matmul tensor) and M = mean over pairs of (a kron b)(a kron b)', so an epoch's bookkeeping costs
  microseconds instead of a pass over the data.

Every operation acts on each run's slice separately, so a run trained inside a batch gives the same
bits as the same run trained alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from bilinear.data import derived_seed
from bilinear.schemes import matmul_tensor
from bilinear.training import Layout, Recipe, format_of


class Runs:
    """R runs' parameters theta (R, D) = [U | V | W] per row, with views U, V, W into it."""

    def __init__(self, U, V, W):
        U, V, W = (np.asarray(t.detach() if torch.is_tensor(t) else t, dtype=np.float64)
                   for t in (U, V, W))
        R, S, nm = U.shape
        self.layout = Layout(format_of(nm, V.shape[2], W.shape[1]), S)
        self.theta = np.ascontiguousarray(
            np.concatenate([U.reshape(R, -1), V.reshape(R, -1), W.reshape(R, -1)], axis=1))
        self.U, self.V, self.W = self.views(self.theta)

    def views(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """U (R,S,nm), V (R,S,mp), W (R,np,S) as views into a (R, D) array laid out like theta."""
        n, m, p = self.layout.fmt
        S, R = self.layout.slots, theta.shape[0]
        su, sv, _ = self.layout.sizes
        return (theta[:, :su].reshape(R, S, n * m), theta[:, su:su + sv].reshape(R, S, m * p),
                theta[:, su + sv:].reshape(R, n * p, S))

    def copies(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Independent copies of U, V, W."""
        return np.array(self.U), np.array(self.V), np.array(self.W)


def second_moments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """M (R, nm*mp, nm*mp): per-run mean over pairs of (a kron b)(a kron b)'."""
    z = (a[:, :, :, None] * b[:, :, None, :]).reshape(a.shape[0], a.shape[1], -1)
    return z.transpose(0, 2, 1) @ z / a.shape[1]


def moment_mse(runs: Runs, moments: np.ndarray) -> np.ndarray:
    """Per-run dataset MSE (R,) of exact products c = A B, from the data's second moments."""
    n, m, p = runs.layout.fmt
    R, S = runs.U.shape[:2]
    uv = (runs.U[:, :, :, None] * runs.V[:, :, None, :]).reshape(R, S, -1)
    target = matmul_tensor(n, m, p).reshape(-1, n * p)
    d = uv.transpose(0, 2, 1) @ runs.W.transpose(0, 2, 1) - target  # (R, nm*mp, np)
    return (d * (moments @ d)).reshape(R, -1).sum(axis=1) / (n * p)


class _Step:
    """Preallocated buffers for one AdamW step of R runs; batches are feature-major (R, dim, B)."""

    def __init__(self, runs: Runs, recipe: Recipe):
        self.runs, self.recipe = runs, recipe
        self.grad, self.exp_avg, self.exp_avg_sq, self.denom, self.buf = (
            np.zeros_like(runs.theta) for _ in range(5))
        self.gU, self.gV, self.gW = runs.views(self.grad)
        self.Wt = runs.W.transpose(0, 2, 1)
        self.steps = 0

    def __call__(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> None:
        """Gradient of the per-run batch MSE, then one AdamW update of theta in place."""
        U, V, W = self.runs.U, self.runs.V, self.runs.W
        ua = U @ x
        vb = V @ y
        prod = ua * vb
        g_out = W @ prod
        g_out -= z
        g_out *= 2.0 / (z.shape[1] * z.shape[2])
        g_prod = self.Wt @ g_out
        np.matmul(g_out, prod.transpose(0, 2, 1), out=self.gW)
        vb *= g_prod
        np.matmul(vb, x.transpose(0, 2, 1), out=self.gU)
        ua *= g_prod
        np.matmul(ua, y.transpose(0, 2, 1), out=self.gV)
        self._adamw()

    def _adamw(self) -> None:
        r, g = self.recipe, self.grad
        self.steps += 1
        theta, m, v, denom, buf = (self.runs.theta, self.exp_avg, self.exp_avg_sq, self.denom,
                                   self.buf)
        theta *= 1 - r.lr * r.weight_decay
        np.subtract(g, m, out=buf)  # m.lerp_(g, 1 - beta1) = m + (1 - beta1) * (g - m)
        buf *= 1 - r.beta1
        m += buf
        v *= r.beta2
        np.multiply(g, 1 - r.beta2, out=buf)  # v.addcmul_(g, g, 1 - beta2) = v + (1-beta2) g g
        buf *= g
        v += buf
        np.sqrt(v, out=denom)
        denom /= (1 - r.beta2 ** self.steps) ** 0.5
        denom += r.eps
        np.multiply(m, r.lr / (1 - r.beta1 ** self.steps), out=buf)
        buf /= denom
        theta -= buf


@dataclass
class History:
    """Per-epoch dataset losses (epochs, R) of a training."""

    train_loss: np.ndarray
    test_loss: np.ndarray


def _per_run(data: dict, R: int, name: str) -> list[np.ndarray]:
    arrays = [np.asarray(data[k], dtype=np.float64) for k in "abc"]
    if any(x.ndim != 3 or x.shape[0] != R for x in arrays):
        raise ValueError(f"{name} arrays must be per run, (R={R}, N, .)")
    return arrays


def train(runs: Runs, train_set: dict, test_set: dict, recipe: Recipe, seeds: Sequence[int],
          callback: Callable[[int, Runs], None] | None = None, progress: bool = False,
          shuffle: str = "shuffle", desc: str = "train") -> History:
    """Train R runs in place with AdamW on mini-batches of their own training pairs.

    train_set/test_set: dicts of per-run arrays a, b, c (R, N, .) with c = A B exactly (the losses
    are computed from moments, see the module docstring).  Run r shuffles its pairs every epoch with
    torch.randperm from derived_seed(seeds[r], shuffle), as train_runs does; a last, smaller batch
    is kept.  After every epoch the dataset MSEs are recorded and callback(epoch, runs) is called if
    given (epoch counts from 1; runs is live, copy what you keep).
    """
    R = runs.theta.shape[0]
    if len(seeds) != R:
        raise ValueError(f"{len(seeds)} seeds for {R} runs")
    data = _per_run(train_set, R, "train")
    moments = [second_moments(*data[:2]), second_moments(*_per_run(test_set, R, "test")[:2])]
    n_pairs = data[0].shape[1]
    table = np.ascontiguousarray(np.concatenate(data, axis=2).transpose(0, 2, 1))
    shuffled = np.empty_like(table)  # feature-major (R, nm + mp + np, N), refilled every epoch
    x, y, z = np.split(shuffled, np.cumsum([t.shape[2] for t in data])[:2], axis=1)
    gens = [torch.Generator().manual_seed(derived_seed(s, shuffle)) for s in seeds]
    size = recipe.batch_size
    bounds = [(k, min(k + size, n_pairs)) for k in range(0, n_pairs, size)]
    step = _Step(runs, recipe)
    losses = np.empty((2, recipe.epochs, R))
    for epoch in tqdm(range(recipe.epochs), desc=desc, disable=not progress, leave=False):
        for r, gen in enumerate(gens):
            perm = torch.randperm(n_pairs, generator=gen).numpy()
            np.take(table[r], perm, axis=1, out=shuffled[r])
        for lo, hi in bounds:
            step(x[:, :, lo:hi], y[:, :, lo:hi], z[:, :, lo:hi])
        losses[:, epoch] = [moment_mse(runs, mom) for mom in moments]
        if callback is not None:
            callback(epoch + 1, runs)
    return History(losses[0], losses[1])
