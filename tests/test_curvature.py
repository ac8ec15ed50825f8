"""studies.curvature: the exact Hessian against finite differences of the analytic gradient."""

from __future__ import annotations

import numpy as np
import torch

from bilinear.learn.data import gaussian_pairs
from bilinear.learn.training import Layout, mse_and_grad, pair_moments, set_mse
from bilinear.studies.curvature import curvature_stats, hessians, moment_loss


def _setup(runs: int = 2):
    layout = Layout((2, 2, 2), 3)
    rng = np.random.default_rng(7)
    theta = rng.standard_normal((runs, layout.dim)) * 0.6
    data = gaussian_pairs((2, 2, 2), 64, 11)
    return layout, theta, data, pair_moments(data, runs)


def _grad(theta, layout, data):
    R = len(theta)
    a, b, c = (np.ascontiguousarray(np.broadcast_to(data[k], (R, *data[k].shape))) for k in "abc")
    return mse_and_grad(theta, layout, a, b, c)


def test_moment_loss_is_the_training_mse():
    layout, theta, _, moments = _setup()
    ours = [float(moment_loss(torch.from_numpy(t), torch.from_numpy(m), layout))
            for t, m in zip(theta, moments, strict=True)]
    np.testing.assert_allclose(ours, set_mse(theta, layout, moments), rtol=1e-12)


def test_hessian_matches_finite_differences_of_the_gradient():
    layout, theta, data, moments = _setup()
    H = hessians(theta, moments, layout)
    h = 1e-5
    fd = np.empty_like(H)
    for j in range(layout.dim):
        step = np.zeros(layout.dim)
        step[j] = h
        diff = _grad(theta + step, layout, data) - _grad(theta - step, layout, data)
        fd[:, :, j] = diff / (2 * h)
    np.testing.assert_allclose(H, fd, atol=1e-7 * np.abs(H).max())
    np.testing.assert_allclose(H, H.transpose(0, 2, 1), atol=1e-12)


def test_curvature_stats_of_known_matrices():
    H = np.stack([np.diag([3.0, 1.0, -2.0]), np.diag([1.0, 1.0, 1.0])])
    stats = curvature_stats(H)
    np.testing.assert_allclose(stats["trace_over_d"], [2 / 3, 1.0])
    np.testing.assert_allclose(stats["kappa_eff"], [-2 / 3, -1.0])
    assert stats["n_negative"].tolist() == [1, 0]
    np.testing.assert_allclose(stats["eig_min"], [-2.0, 1.0])
