"""anneal: penalty gradients, gauge moves, exactness kept from Strassen, and no solver anywhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bilinear.learn.methods.sparsify as sparsify_module
from bilinear.algebra.equivalence import equivalent_to_strassen
from bilinear.algebra.schemes import strassen
from bilinear.learn.data import make_datasets
from bilinear.learn.methods import discretize
from bilinear.learn.methods.anneal import (
    Schedule,
    anneal_crystals,
    discreteness,
    gauge_unit,
    tensor_loss_grad,
)
from bilinear.learn.training import Layout, Recipe, pack, unpack

LAYOUT = Layout((2, 2, 2), 7)
SHORT = Schedule(fit_epochs=10, l1_epochs=10, penalty_epochs=10, rescale_every=5)


def _finite_difference(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(theta)
    for i in range(theta.shape[1]):
        e = np.zeros_like(theta)
        e[:, i] = h
        out[:, i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return out


def _strassen_theta(runs: int = 1) -> torch.Tensor:
    U, V, W = (torch.as_tensor(t, dtype=torch.float64)[None].repeat(runs, 1, 1)
               for t in strassen().as_float())
    return pack(U, V, W)


@pytest.mark.parametrize("kind", ["sin2", "nearest"])
def test_penalty_gradient_matches_finite_differences(kind):
    rng = np.random.default_rng(0)
    theta = rng.uniform(-1.4, 1.4, size=(3, LAYOUT.dim))
    theta = np.where(np.abs(theta - np.rint(theta)) < 0.05, theta + 0.1, theta)  # off the kinks
    grad = discreteness(theta, kind)[1]
    numeric = _finite_difference(lambda t: discreteness(t, kind)[0], theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_tensor_loss_gradient_matches_finite_differences():
    theta = np.random.default_rng(1).normal(size=(2, LAYOUT.dim)) * 0.5
    grad = tensor_loss_grad(theta, LAYOUT)[1]
    numeric = _finite_difference(lambda t: tensor_loss_grad(t, LAYOUT)[0], theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_tensor_loss_is_zero_at_strassen_and_not_elsewhere():
    theta = _strassen_theta(2).numpy()
    assert np.all(tensor_loss_grad(theta, LAYOUT)[0] == 0)
    theta[1, 0] += 0.5
    assert tensor_loss_grad(theta, LAYOUT)[0][1] > 0.1


def test_gauge_move_leaves_the_product_unchanged():
    rng = np.random.default_rng(2)
    theta = rng.normal(size=(4, LAYOUT.dim)) * 2
    U, V, _ = unpack(theta, LAYOUT)
    U[1, 3] = 0.0  # a slot with a zero part is left alone
    before = theta.copy()
    loss_before = tensor_loss_grad(theta, LAYOUT)[0]
    gauge_unit(theta, LAYOUT)
    np.testing.assert_allclose(tensor_loss_grad(theta, LAYOUT)[0], loss_before, rtol=1e-12)
    Ub, Vb, Wb = unpack(before, LAYOUT)
    Ua, Va, Wa = unpack(theta, LAYOUT)
    np.testing.assert_allclose(np.einsum("rsi,rsj,rks->rijk", Ua, Va, Wa),
                               np.einsum("rsi,rsj,rks->rijk", Ub, Vb, Wb), atol=1e-12)
    mask = np.ones((4, 7), dtype=bool)
    mask[1, 3] = False
    np.testing.assert_allclose(np.abs(Ua).max(axis=2)[mask], 1.0)
    np.testing.assert_allclose(np.abs(Va).max(axis=2)[mask], 1.0)
    np.testing.assert_array_equal(Ua[1, 3], Ub[1, 3])
    assert not np.allclose(Ua, Ub)  # the move did change the weights


def test_schedule_weight_rises_geometrically_in_phase_three_only():
    s = Schedule(fit_epochs=5, l1_epochs=5, penalty_epochs=3, penalty_start=1e-4,
                 penalty_end=1e-2)
    assert [s.weight(e) for e in (1, 10)] == [0.0, 0.0]
    np.testing.assert_allclose([s.weight(e) for e in (11, 12, 13)], [1e-4, 1e-3, 1e-2])
    assert s.l1_at(5) == 0.0 and s.l1_at(6) == s.l1


@pytest.mark.parametrize("loss", ["data", "tensor"])
def test_anneal_from_exact_strassen_stays_exact(loss):
    train, _ = make_datasets((2, 2, 2), 64, 1, seed=3)
    U, V, W = unpack(_strassen_theta(2), LAYOUT)
    sched = Schedule(**{**SHORT.__dict__, "loss": loss})
    crystals, out = anneal_crystals(U, V, W, train, Recipe(batch_size=16), sched, [0, 1])
    assert all(c.exact and c.method == "anneal" for c in crystals)
    assert all(equivalent_to_strassen(c.scheme) for c in crystals)
    assert max(c.margin for c in crystals) < 0.05
    assert np.all(out.loss < 1e-3)


def test_anneal_of_a_far_start_is_judged_by_the_verifier():
    """A random start with no training budget cannot round to a scheme: the verdict says so."""
    train, _ = make_datasets((2, 2, 2), 64, 1, seed=4)
    theta = torch.from_numpy(np.random.default_rng(5).normal(size=(2, LAYOUT.dim)))
    crystals, _ = anneal_crystals(*unpack(theta, LAYOUT), train, Recipe(batch_size=16),
                                  Schedule(0, 0, 0), [0, 1])
    assert not any(c.exact for c in crystals)


SOLVERS = ("_polish", "_solve_exactly", "_resolve", "_greedy", "sparsify")


def test_anneal_calls_no_solver(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("an algebraic solver was called during an anneal")

    for name in SOLVERS:
        monkeypatch.setattr(sparsify_module, name, forbidden)
    for name in ("solve", "lstsq", "pinv", "inv"):
        monkeypatch.setattr(np.linalg, name, forbidden)
    train, _ = make_datasets((2, 2, 2), 64, 1, seed=6)
    theta = _strassen_theta(1).numpy()[0] + np.random.default_rng(7).normal(size=LAYOUT.dim) * 0.05
    U, V, W = (t[0].numpy() for t in unpack(torch.from_numpy(theta[None]), LAYOUT))
    for loss in ("data", "tensor"):
        options = {"train": train, "recipe": Recipe(batch_size=16, lr=1e-2), "seed": 0,
                   "schedule": Schedule(**{**SHORT.__dict__, "loss": loss})}
        crystal = discretize((2, 2, 2), U, V, W, "anneal", anneal=options)
        assert crystal.method == "anneal"
    with pytest.raises(AssertionError, match="solver"):  # the trap is armed
        discretize((2, 2, 2), U, V, W, "sparsify")


def test_anneal_method_needs_its_training_inputs():
    U, V, W = strassen().as_float()
    with pytest.raises(ValueError, match="anneal needs"):
        discretize((2, 2, 2), U, V, W, "anneal")
