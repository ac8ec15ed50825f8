"""The batched training library: gradients, AdamW, batching equivalence, losses, grokking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bilinear.learn.data import make_datasets
from bilinear.learn.model import BilinearModel
from bilinear.learn.training import (
    BatchedAdamW,
    Layout,
    Recipe,
    dataset_mse,
    format_of,
    grokking_epoch,
    init_runs,
    mse,
    mse_and_grad,
    pack,
    pair_moments,
    set_mse,
    train_runs,
    unpack,
)

FMT = (2, 3, 4)


def _runs(R=3, S=5, fmt=FMT, seed=0):
    g = torch.Generator().manual_seed(seed)
    n, m, p = fmt
    return (torch.randn(R, S, n * m, generator=g, dtype=torch.float64),
            torch.randn(R, S, m * p, generator=g, dtype=torch.float64),
            torch.randn(R, n * p, S, generator=g, dtype=torch.float64))


def _batch(R=3, B=7, fmt=FMT, seed=1):
    n, m, p = fmt
    rng = np.random.default_rng(seed)
    return rng.normal(size=(R, B, n * m)), rng.normal(size=(R, B, m * p)), \
        rng.normal(size=(R, B, n * p))


def test_pack_unpack_roundtrip_shares_storage():
    U, V, W = _runs()
    theta = pack(U, V, W)
    layout = Layout(FMT, 5)
    assert theta.shape == (3, layout.dim) and layout.dim == 5 * (6 + 12 + 8)
    for x, y in zip(unpack(theta, layout), (U, V, W), strict=True):
        assert torch.equal(x, y)
    unpack(theta, layout)[2][0, 0, 0] = 42.0
    assert theta[0, layout.sizes[0] + layout.sizes[1]] == 42.0
    Un, _, _ = unpack(theta.numpy(), layout)
    assert Un.base is not None


def test_mse_matches_the_torch_model():
    U, V, W = _runs()
    a, b, c = _batch()
    model = BilinearModel(U, V, W)
    ref = (model(*(torch.from_numpy(x) for x in (a, b))) - torch.from_numpy(c)).square()
    got = mse(pack(U, V, W).numpy(), Layout(FMT, 5), a, b, c)
    np.testing.assert_allclose(got, ref.mean(dim=(1, 2)).detach().numpy(), rtol=1e-13)


def test_analytic_gradient_matches_autograd():
    U, V, W = _runs()
    a, b, c = _batch()
    theta = pack(U, V, W).requires_grad_(True)
    Ut, Vt, Wt = unpack(theta, Layout(FMT, 5))
    out = torch.bmm(torch.bmm(torch.from_numpy(a), Ut.transpose(1, 2))
                    * torch.bmm(torch.from_numpy(b), Vt.transpose(1, 2)), Wt.transpose(1, 2))
    (out - torch.from_numpy(c)).square().mean(dim=(1, 2)).sum().backward()
    grad = mse_and_grad(theta.detach().numpy().copy(), Layout(FMT, 5), a, b, c)
    np.testing.assert_allclose(grad, theta.grad.numpy(), rtol=1e-12, atol=1e-13)
    out_buf = np.zeros_like(grad)
    assert mse_and_grad(theta.detach().numpy().copy(), Layout(FMT, 5), a, b, c, out_buf) is out_buf
    np.testing.assert_array_equal(out_buf, grad)


def test_set_mse_from_moments_equals_the_mean_over_pairs():
    train, _ = make_datasets(FMT, 40, 4, seed=0)
    U, V, W = _runs()
    theta, layout = pack(U, V, W).numpy(), Layout(FMT, 5)
    direct = mse(theta, layout, *(np.broadcast_to(train[k], (3, *train[k].shape)) for k in "abc"))
    np.testing.assert_allclose(set_mse(theta, layout, pair_moments(train, 3)), direct, rtol=1e-12)
    np.testing.assert_allclose(dataset_mse(U, V, W, train), direct, rtol=1e-12)


def test_set_mse_of_stacked_moments_gives_one_row_per_set():
    train, test = make_datasets(FMT, 40, 30, seed=1)
    U, V, W = _runs()
    theta, layout = pack(U, V, W).numpy(), Layout(FMT, 5)
    moments = [pair_moments(train, 3), pair_moments(test, 3)]
    both = set_mse(theta, layout, np.stack(moments))
    assert both.shape == (2, 3)
    for row, mom in zip(both, moments, strict=True):
        np.testing.assert_array_equal(row, set_mse(theta, layout, mom))


def test_batched_adamw_matches_torch_adamw():
    U, V, W = _runs()
    params = [t.clone().requires_grad_(True) for t in (U, V, W)]
    ref = torch.optim.AdamW(params, lr=1e-2, weight_decay=1e-2)
    theta = pack(U, V, W)
    mine = BatchedAdamW(theta, lr=1e-2, weight_decay=1e-2)
    for k in range(5):
        grads = [torch.sin(p.detach() * (k + 1)) for p in params]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        ref.step()
        mine.step(pack(*grads))
    np.testing.assert_allclose(theta.numpy(), pack(*(p.detach() for p in params)).numpy(),
                               rtol=0, atol=1e-15)


def test_init_runs_symmetric_and_per_seed():
    U, V, W = init_runs((2, 2, 2), 8, [3, 4, 5], "symmetric", 0.5)
    assert U.shape == (3, 8, 4) and W.shape == (3, 4, 8)
    assert torch.equal(U, V) and not torch.equal(U[0], U[1])
    alone = init_runs((2, 2, 2), 8, [4], "symmetric", 0.5)
    assert torch.equal(alone[2][0], W[1])
    G = init_runs((2, 2, 2), 8, [3], "gaussian", 0.5)
    assert not torch.equal(G[0], G[1])


@pytest.mark.parametrize("per_run", [False, True])
def test_a_run_trained_alone_equals_the_same_run_in_a_batch(per_run):
    seeds = [11, 12, 13]
    train, test = make_datasets((2, 2, 2), 40, 16, seed=0)
    if per_run:
        sets = [make_datasets((2, 2, 2), 40, 16, seed=s) for s in seeds]
        train = {k: np.stack([s[0][k] for s in sets]) for k in "abc"}
        test = {k: np.stack([s[1][k] for s in sets]) for k in "abc"}
    recipe = Recipe(epochs=6, batch_size=12)
    batch = train_runs(*init_runs((2, 2, 2), 8, seeds), train, test, recipe, seeds)
    one = {k: v[1:2] for k, v in train.items()} if per_run else train
    one_test = {k: v[1:2] for k, v in test.items()} if per_run else test
    alone = train_runs(*init_runs((2, 2, 2), 8, seeds[1:2]), one, one_test, recipe, seeds[1:2])
    for x, y in zip((batch.U, batch.V, batch.W), (alone.U, alone.V, alone.W), strict=True):
        np.testing.assert_allclose(x[1].numpy(), y[0].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(batch.train_loss[:, 1], alone.train_loss[:, 0], rtol=1e-12)
    np.testing.assert_allclose(batch.test_loss[:, 1], alone.test_loss[:, 0], rtol=1e-12)


def test_train_runs_learns_is_deterministic_and_calls_back():
    train, test = make_datasets((2, 2, 2), 64, 32, seed=0)
    seen = []
    recipe = Recipe(epochs=40, batch_size=16, lr=1e-2)
    first = train_runs(*init_runs((2, 2, 2), 8, [0, 1]), train, test, recipe, [0, 1],
                       callback=lambda e, th: seen.append((e, th.shape)))
    assert seen == [(e, (2, 96)) for e in range(1, 41)]
    assert first.train_loss.shape == (40, 2) and first.test_loss.shape == (40, 2)
    assert np.all(first.train_loss[-1] < 0.2 * first.train_loss[0])
    again = train_runs(*init_runs((2, 2, 2), 8, [0, 1]), train, test, recipe, [0, 1])
    assert torch.equal(first.W, again.W)
    with pytest.raises(ValueError):
        train_runs(*init_runs((2, 2, 2), 8, [0, 1]), train, test, recipe, [0])


def test_recipe_defaults_are_the_papers():
    r = Recipe()
    assert (r.epochs, r.batch_size, r.lr, r.weight_decay) == (1000, 32, 1e-3, 1e-4)


def test_format_of():
    assert format_of(6, 12, 8) == (2, 3, 4)
    assert format_of(4, 4, 4) == (2, 2, 2)
    with pytest.raises(ValueError):
        format_of(4, 5, 4)


def _curve(plateau_len, drop=True, epochs=400):
    train = np.full(epochs, 1e-3)
    test = np.full(epochs, 1.0)
    train[50:] = 1e-8
    end = 50 + plateau_len
    if drop:
        test[end:] = 1e-4
    return train, test


def test_grokking_epoch_operational_definition():
    assert grokking_epoch(*_curve(150)) == 201
    assert grokking_epoch(*_curve(99)) is None  # plateau too short
    assert grokking_epoch(*_curve(150, drop=False)) is None  # no drop
    train, test = _curve(150)
    test[200:] = 0.05  # drops, but not abruptly (not below 0.01 within 50 epochs)
    assert grokking_epoch(train, test) is None
    assert grokking_epoch(np.full(10, 1e-9), np.full(10, 1e-9)) is None


def test_train_and_prune_stages_run_and_reject_bad_params(tmp_path, monkeypatch, capsys):
    import json

    from bilinear.io import load_torch, save_npz
    from stages import prune as prune_stage
    from stages import train as train_stage

    monkeypatch.chdir(tmp_path)
    train, test = make_datasets((2, 2, 2), 16, 8, seed=0)
    save_npz("data/train.npz", **train)
    save_npz("data/test.npz", **test)
    params = ("seed: 0\ntrain:\n  slots: 8\n  init: symmetric\n  init_scale: 0.5\n  epochs: 3\n"
              "  batch_size: 4\n  lr: 0.001\n  weight_decay: 0.0001\n"
              "prune:\n  pruned_slots: 7\n  finetune:\n    epochs: 2\n    lr: 0.001\n"
              "    weight_decay: 0.0001\n    batch_size: 4\n")
    (tmp_path / "params.yaml").write_text(params)
    assert train_stage.main() == 0 and prune_stage.main() == 0
    metrics = json.loads((tmp_path / "metrics/train.json").read_text())
    assert metrics["epochs"] == 3 and metrics["grokking_epoch"] is None
    assert len((tmp_path / "plots/train/loss.csv").read_text().splitlines()) == 4
    assert len((tmp_path / "plots/train/margin.csv").read_text().splitlines()) == 4
    assert 0 < metrics["min_margin"] <= metrics["final_margin"] < 2
    pruned = load_torch("models/pruned.pt")
    assert pruned["U"].shape == (1, 7, 4) and pruned["seed"] == 0
    assert "train_loss_finetuned" in json.loads((tmp_path / "metrics/prune.json").read_text())
    bad = params.replace("batch_size: 4\n  lr", "batch_size: 0\n  lr")
    (tmp_path / "params.yaml").write_text(bad)
    assert train_stage.main() == 2
    assert "error: train.batch_size" in capsys.readouterr().err


@pytest.mark.parametrize("cut", ["a", "c"])
def test_training_pairs_that_disagree_are_an_error(cut):
    train, test = make_datasets(FMT, 32, 8, seed=0)
    train = {**train, cut: train[cut][:20]}
    U, V, W = _runs()
    with pytest.raises(ValueError, match="disagree on the pairs"):
        train_runs(U, V, W, train, test, Recipe(epochs=1, batch_size=8), [0, 1, 2])
