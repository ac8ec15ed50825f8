"""studies.gradient_geometry: effective rank, the covariance spectrum of a known case, the two
statements' tests; studies.replay's checkpoint schedules."""

from __future__ import annotations

import numpy as np
import torch

from bilinear.studies import gradient_geometry as gg
from bilinear.studies.replay import equal_epochs, equal_steps


def test_effective_rank_of_a_flat_and_a_one_spike_spectrum():
    assert abs(gg.effective_rank(np.ones(7)) - 7.0) < 1e-12
    assert abs(gg.effective_rank(np.r_[5.0, np.zeros(9)]) - 1.0) < 1e-12
    assert gg.effective_rank(np.zeros(4)) == 0.0
    assert 1 < gg.effective_rank(np.r_[10.0, 1.0, 1.0]) < 3


def test_spectrum_of_a_one_slot_scalar_model_is_one_known_eigenvalue():
    # <1,1,1>, one slot: per-sample loss (k - 1)^2 (ab)^2 with k = u v w, so every per-sample
    # gradient is x_i (v w, u w, u v) with x_i = 2 (k - 1) (a_i b_i)^2: Sigma has rank 1 and
    # eigenvalue var(x) |(v w, u w, u v)|^2
    u, v, w = 0.7, -1.3, 0.4
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((1, 50, 1)), rng.standard_normal((1, 50, 1))
    c = a * b
    U, V, W = (torch.tensor([[[x]]], dtype=torch.float64) for x in (u, v, w))
    out = gg.run_spectra(U, V, W, *(torch.from_numpy(x) for x in (a, b, c)))
    x = 2 * (u * v * w - 1) * (a[0, :, 0] * b[0, :, 0]) ** 2
    expected = np.var(x, ddof=1) * (np.array([v * w, u * w, u * v]) ** 2).sum()
    np.testing.assert_allclose(out["spectrum"][0, 0], expected, rtol=1e-10)
    assert out["rank"][0] == 1 and out["kappa"][0] == 1.0
    assert abs(out["effective_rank"][0] - 1.0) < 1e-12


def test_stability_and_correlation_tests_see_a_planted_effect():
    rng = np.random.default_rng(0)
    logk = {8: rng.normal(3, 2.0, 40), 32: rng.normal(3, 0.2, 40), 64: rng.normal(3, 0.2, 40)}
    st = gg.stability_test(logk)
    assert st["more_stable_inside"] and st["sd_inside"] < st["sd_outside"]
    x = np.r_[rng.normal(1, 0.1, 30), rng.normal(3, 0.1, 30)]
    y = np.r_[np.ones(30), np.zeros(30)]
    corr = gg.success_correlation(x, y)
    assert corr["auc"] == 1.0 and corr["p"] < 1e-6
    assert gg.success_correlation(x, np.ones(60))["degenerate"]


def test_checkpoints_match_epochs_and_steps():
    assert equal_epochs([5, 10], 1000) == {"e5": 50, "e10": 100, "final": 1000}
    # the reference B=32 takes 32 steps per epoch over 1024 pairs: 50 epochs = 1600 steps
    assert equal_steps([5], 1000, 1024, 128, 32) == {"s5": 200}
    assert equal_steps([5], 1000, 1024, 8, 32) == {"s5": 12}
    assert equal_steps([100], 1000, 1024, 128, 32) == {"s100": 1000}
