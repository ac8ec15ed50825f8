"""Gradient-noise covariance: per-sample gradients (closed form vs torch.func vs autograd), the
covariance and its spectrum, the degenerate exact case, a known covariance, and the stage."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from bilinear.algebra.formats.project_json import save_scheme
from bilinear.algebra.schemes import strassen
from bilinear.io import save_npz, save_torch
from bilinear.studies import kappa

torch.set_num_threads(1)


def _samples(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 4, generator=g, dtype=torch.float64)
    b = torch.randn(n, 4, generator=g, dtype=torch.float64)
    return a, b, (a.view(n, 2, 2) @ b.view(n, 2, 2)).reshape(n, 4)


def _weights(runs: int, slots: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(runs, *shape, generator=g, dtype=torch.float64)
                 for shape in ((slots, 4), (slots, 4), (4, slots)))


def test_analytic_gradients_match_torch_func():
    U, V, W = _weights(3, 8)
    a, b, c = _samples(40)
    analytic = kappa.per_sample_grads_analytic(U, V, W, a, b, c)
    func = kappa.per_sample_grads_func(U, V, W, a, b, c)
    assert analytic.shape == (3, 40, 96)
    torch.testing.assert_close(analytic, func, rtol=1e-10, atol=1e-10)


def test_gradients_match_autograd_one_sample_at_a_time():
    U, V, W = (x[0] for x in _weights(1, 7))
    a, b, c = _samples(5)
    grads = kappa.per_sample_grads_analytic(U, V, W, a, b, c)[0]
    for i in range(5):
        params = [t.clone().requires_grad_(True) for t in (U, V, W)]
        c_hat = params[2] @ ((params[0] @ a[i]) * (params[1] @ b[i]))
        ((c_hat - c[i]) ** 2).mean().backward()
        expected = torch.cat([p.grad.reshape(-1) for p in params])
        torch.testing.assert_close(grads[i], expected, rtol=1e-12, atol=1e-12)


def test_covariance_and_spectrum_match_numpy():
    U, V, W = _weights(1, 7)
    grads = kappa.per_sample_grads_analytic(U, V, W, *_samples(300))
    sigma = kappa.covariance(grads)[0].numpy()
    expected = np.cov(grads[0].numpy(), rowvar=False)
    np.testing.assert_allclose(sigma, expected, rtol=1e-10, atol=1e-12)
    eig = kappa.spectrum(grads)[0].numpy()
    top = np.sort(np.linalg.eigvalsh(expected))[::-1][:20]
    np.testing.assert_allclose(eig[:20], top, rtol=1e-8)
    stats = kappa.spectrum_stats(grads)
    assert float(stats["trace_over_d"][0]) == pytest.approx(np.trace(expected) / 84, rel=1e-10)


def test_known_covariance_of_a_one_coefficient_model():
    # format 1x1x1, one slot, U = V = 1, W = 0: c_hat = 0, c = ab, so the gradient is
    # (0, 0, -2 (ab)^2) and Sigma = diag(0, 0, 4 Var((ab)^2)) with 4 Var((ab)^2) = 4 (9 - 1) = 32.
    g = torch.Generator().manual_seed(3)
    a = torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    b = torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    one, zero = torch.ones(1, 1, 1, dtype=torch.float64), torch.zeros(1, 1, 1, dtype=torch.float64)
    stats = kappa.gradient_noise(one, one, zero, a, b, a * b)
    sample_var = float(torch.var(-2 * (a * b) ** 2))
    assert int(stats["rank"][0]) == 1 and not bool(stats["degenerate"][0])
    assert float(stats["kappa"][0]) == 1.0  # one nonzero eigenvalue: a genuine 1, not a tautology
    assert float(stats["trace_over_d"][0]) == pytest.approx(sample_var / 3, rel=1e-10)
    assert sample_var == pytest.approx(32.0, abs=2.0)


def test_exact_strassen_is_degenerate_with_kappa_null():
    U, V, W = (torch.from_numpy(x)[None] for x in strassen().as_float())
    stats = kappa.gradient_noise(U, V, W, *_samples(256))
    assert bool(stats["degenerate"][0]) and int(stats["rank"][0]) == 0
    assert torch.isnan(stats["kappa"][0])
    report = kappa.checkpoint_report(stats, 0, 1e-3, [8, 16])
    assert report["kappa"] is None and report["degenerate"] is True
    assert report["batch_size"]["8"]["kappa"] is None
    json.dumps(report, allow_nan=False)


def test_generic_rank_is_structural_and_gauge_directions_are_null():
    a, b, c = _samples(500)
    for slots in (7, 8):
        U, V, W = _weights(2, slots, seed=slots)
        grads = kappa.per_sample_grads_analytic(U, V, W, a, b, c)
        assert kappa.spectrum_stats(grads)["rank"].tolist() == [58, 58]
        # rescaling slot 0 of U (and W back) changes no sample's loss: its direction is null
        mask = (torch.arange(slots) == 0).to(U.dtype)
        direction = torch.cat([(U[0] * mask[:, None]).reshape(-1),
                               torch.zeros(slots * 4, dtype=U.dtype),
                               (-W[0] * mask[None, :]).reshape(-1)])
        assert float((grads[0] @ direction).abs().max()) < 1e-9 * float(grads[0].abs().max())


def test_batched_inputs_and_max_samples():
    U, V, W = _weights(2, 7)
    a, b, c = _samples(100)
    shared = kappa.gradient_noise(U, V, W, a, b, c, max_samples=60)
    per_run = kappa.gradient_noise(U, V, W, *(x[:60].expand(2, -1, -1) for x in (a, b, c)))
    single = kappa.gradient_noise(U[1], V[1], W[1], a[:60], b[:60], c[:60], method="func")
    torch.testing.assert_close(shared["trace_over_d"], per_run["trace_over_d"])
    torch.testing.assert_close(shared["kappa"][1:], single["kappa"], rtol=1e-8, atol=0)


def test_gamma_scales_with_lr_over_batch_size():
    stats = kappa.gradient_noise(*_weights(1, 7), *_samples(50))
    report = kappa.checkpoint_report(stats, 0, 1e-3, [8, 32])
    t = report["trace_over_d"]
    assert report["batch_size"]["8"]["gamma"] == pytest.approx(1e-3 / 8 * t)
    assert report["batch_size"]["32"]["gamma"] == pytest.approx(1e-3 / 32 * t)
    assert report["batch_size"]["8"]["kappa"] == report["batch_size"]["32"]["kappa"]


def test_stage_reports_every_checkpoint(tmp_path, monkeypatch):
    from stages import kappa as stage

    save_scheme(tmp_path / "models/algorithm.json", strassen())
    for name, slots in (("trained", 8), ("pruned", 7)):
        U, V, W = _weights(1, slots, seed=slots)
        save_torch(tmp_path / f"models/{name}.pt", {"format": [2, 2, 2], "U": U, "V": V, "W": W})
    a, b, c = _samples(80)
    save_npz(tmp_path / "data/train.npz", a=a.numpy(), b=b.numpy(), c=c.numpy())
    params = {"train": {"lr": 1e-3},
              "kappa": {"batch_sizes": [8, 32], "max_samples": 64, "abs_tol": 1e-24}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert stage.main() == 0
    metrics = json.loads((tmp_path / "metrics/kappa.json").read_text())
    assert metrics["samples"] == 64
    discrete = metrics["checkpoints"]["discrete"]
    assert discrete["degenerate"] is True and discrete["kappa"] is None
    for name in ("trained", "pruned"):
        entry = metrics["checkpoints"][name]
        assert entry["rank"] == 58 and entry["kappa"] > 1
        assert entry["analytic_vs_func_max_abs_diff"] < 1e-9
        assert set(entry["batch_size"]["8"]) >= {"kappa", "rank", "trace_over_d", "gamma",
                                                 "degenerate"}
