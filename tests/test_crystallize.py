"""Crystallization: slot importance, pruning, the paper's rounding, our sparsify-and-pin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bilinear.algebra.schemes import Scheme, naive, strassen, verify
from bilinear.learn.crystal import margin, round_clamp
from bilinear.learn.methods import METHODS, discretize
from bilinear.learn.methods.sparsify import sparsify
from bilinear.learn.prune import prune, slot_importance


def _strassen_float():
    return strassen().as_float()


def _sandwich(U, V, W, seed, spread=0.3):
    """A real, generic-looking exact scheme: Strassen under A -> P A Q^-1, B -> Q B R^-1 and
    random slot scalings (the product stays A B up to P, R, which the new W undoes)."""
    rng = np.random.default_rng(seed)
    P, Q, R = (np.eye(2) + spread * rng.normal(size=(2, 2)) for _ in range(3))
    Qi, Ri = np.linalg.inv(Q), np.linalg.inv(R)
    Pi = np.linalg.inv(P)
    Un = np.stack([(P.T @ u.reshape(2, 2) @ Qi.T).ravel() for u in U])
    Vn = np.stack([(Q.T @ v.reshape(2, 2) @ Ri.T).ravel() for v in V])
    Wn = np.stack([(Pi @ w.reshape(2, 2) @ R).ravel() for w in W.T], axis=1)
    alpha, beta = rng.uniform(0.5, 2, size=(2, len(U)))
    return Un * alpha[:, None], Vn * beta[:, None], Wn / (alpha * beta)


def _residual(U, V, W):
    from bilinear.algebra.schemes import matmul_tensor
    return np.abs(np.einsum("si,sj,ks->ijk", U, V, W) - matmul_tensor(2, 2, 2)).max()


def test_slot_importance_is_the_product_of_norms():
    U = torch.tensor([[[3.0, 4.0], [1.0, 0.0]]], dtype=torch.float64)
    V = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]], dtype=torch.float64)
    W = torch.tensor([[[2.0, 1.0], [0.0, 0.0]]], dtype=torch.float64)
    assert slot_importance(U, V, W).tolist() == [[10.0, 2.0]]


def test_prune_removes_the_weakest_slots_per_run():
    g = torch.Generator().manual_seed(0)
    U = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
    V = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
    W = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
    U[0, 2] *= 1e-3
    U[1, 0] *= 1e-3
    U[1, 3] *= 1e-2
    Up, Vp, Wp, removed = prune(U, V, W, 2)
    assert Up.shape == (2, 2, 4) and Vp.shape == (2, 2, 4) and Wp.shape == (2, 4, 2)
    assert removed[1].tolist() == [0, 3] and 2 in removed[0].tolist()
    kept = sorted(set(range(4)) - set(removed[1].tolist()))
    assert torch.equal(Up[1], U[1, kept]) and torch.equal(Wp[1], W[1][:, kept])
    same = prune(U, V, W, 4)
    assert torch.equal(same[0], U) and same[3].shape == (2, 0)
    with pytest.raises(ValueError):
        prune(U, V, W, 5)


def test_margin_and_round_clamp():
    x = np.array([0.9, -1.7, 0.2, 2.4])
    q = round_clamp(x)
    assert q.tolist() == [1.0, -1.0, 0.0, 1.0]
    assert margin(x, q) == pytest.approx(1.4)
    assert margin(np.zeros(0), np.zeros(0)) == 0.0


def test_round_recovers_strassen_from_near_integer_weights():
    U, V, W = _strassen_float()
    rng = np.random.default_rng(0)
    noisy = [t + rng.uniform(-0.2, 0.2, size=t.shape) for t in (U, V, W)]
    c = discretize((2, 2, 2), *noisy, "round")
    assert c.exact and c.method == "round" and c.margin <= 0.2
    assert 0 < c.input_residual < 2
    assert discretize((2, 2, 2), U, V, W, "round").input_residual == 0
    assert c.scheme.nonzeros() == 36
    far = [t + 0.6 for t in (U, V, W)]
    assert not discretize((2, 2, 2), *far, "round").exact


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparsify_crystallizes_a_generic_real_strassen_solution(seed):
    U, V, W = _sandwich(*_strassen_float(), seed)
    assert _residual(U, V, W) < 1e-12
    assert np.abs(U - np.rint(U)).max() > 0.05  # far from integral: rounding alone fails
    assert not discretize((2, 2, 2), U, V, W, "round").exact
    noisy = [t + 1e-7 for t in (U, V, W)]  # not exactly on the solution set: polish handles it
    c = discretize((2, 2, 2), *noisy, "sparsify")
    assert c.exact and c.method == "sparsify" and c.margin < 1e-9
    assert c.scheme.rank == 7 and c.scheme.is_integral()


def test_sparsify_returns_a_near_integral_vector_for_other_formats():
    U, V, W = naive(1, 2, 2).as_float()
    rng = np.random.default_rng(0)
    x, verdict = sparsify((1, 2, 2), U * 1.7, V * rng.uniform(0.5, 2, size=(4, 1)), W / 1.7)
    assert verdict is None
    assert np.abs(x - np.rint(x)).max() < 1e-9
    c = discretize((1, 2, 2), U * 1.7, V, W / 1.7, "sparsify")
    assert c.exact and verify(Scheme((1, 2, 2), *(c.scheme.U, c.scheme.V, c.scheme.W)))


def test_discretize_reports_failure_honestly_and_rejects_unknown_methods():
    rng = np.random.default_rng(3)
    U, V, W = rng.normal(size=(7, 4)), rng.normal(size=(7, 4)), rng.normal(size=(4, 7))
    c = discretize((2, 2, 2), U, V, W, "round")
    assert not c.exact and c.scheme.rank == 7
    assert set(METHODS) == {"round", "sparsify", "anneal"}
    with pytest.raises(ValueError):
        discretize((2, 2, 2), U, V, W, "magic")


def test_discretize_stage_writes_scheme_and_metrics(tmp_path, monkeypatch, capsys):
    import json

    from bilinear.algebra.formats.project_json import load_scheme
    from bilinear.io import save_npz, save_torch
    from bilinear.learn.data import make_datasets
    from stages import discretize as stage

    monkeypatch.chdir(tmp_path)
    save_npz("data/train.npz", **make_datasets((2, 2, 2), 32, 1, seed=0)[0])  # read by every method
    U, V, W = (torch.from_numpy(t)[None] for t in _sandwich(*_strassen_float(), seed=5))
    save_torch("models/pruned.pt", {"format": [2, 2, 2], "U": U, "V": V, "W": W, "seed": 5,
                                    "recipe": {"epochs": 1, "slots": 8, "init": "symmetric",
                                               "batch_size": 16, "weight_decay": 1e-4},
                                    "prune": {"pruned_slots": 7}})
    anneal = ("anneal: {{lr: 0.01, fit_epochs: 5, l1_epochs: 5, penalty_epochs: 5, l1: 1.0e-3, "
              "rescale_every: 5, penalty: sin2, penalty_start: 1.0e-4, penalty_end: 0.1, "
              "steps_reference_batch: 32}}\n")
    params = "discretize:\n  method: round\n  sparsify_tol: 1.0e-22\n  fallback: {}\n" + anneal
    (tmp_path / "params.yaml").write_text(params.format("true"))
    assert stage.main() == 0
    m = json.loads((tmp_path / "metrics/discretize.json").read_text())
    assert (m["exact"], m["fallback"], m["method"], m["rank"]) == (False, True, "round", 7)
    written = load_scheme("models/algorithm.json")
    assert verify(written) and written.provenance["fallback"] is True
    (tmp_path / "params.yaml").write_text(params.format("false").replace("round", "sparsify"))
    assert stage.main() == 0
    m = json.loads((tmp_path / "metrics/discretize.json").read_text())
    assert m["exact"] and not m["fallback"] and m["equivalent_to_strassen"] is True
    assert load_scheme("models/algorithm.json").provenance["seed"] == 5
    (tmp_path / "params.yaml").write_text(params.format("false").replace("round", "anneal"))
    assert stage.main() == 0
    m = json.loads((tmp_path / "metrics/discretize.json").read_text())
    assert m["method"] == "anneal" and m["exact"] in (True, False) and not m["fallback"]
    (tmp_path / "params.yaml").write_text(params.format("maybe"))
    assert stage.main() == 2
    assert "error: discretize.fallback" in capsys.readouterr().err


def test_sparsify_recovers_from_a_stalled_polish():
    """Seed 19 of the default recipe: plain LM stalls near a degenerate configuration (huge W
    entries); the norm-penalised continuation reaches an exact solution and sparsify succeeds."""
    from bilinear.learn.brent import Brent
    from bilinear.learn.data import make_datasets
    from bilinear.learn.methods.sparsify import _polish, _solve_exactly
    from bilinear.learn.training import Recipe, init_runs, train_runs

    train, test = make_datasets((2, 2, 2), 1024, 64, seed=19)
    result = train_runs(*init_runs((2, 2, 2), 8, [19]), train, test, Recipe(), [19])
    U, V, W, _ = prune(result.U, result.V, result.W, 7)
    U, V, W = U[0].numpy(), V[0].numpy(), W[0].numpy()
    brent = Brent((2, 2, 2), 7)
    x = np.concatenate([U.ravel(), V.ravel(), W.ravel()])
    assert brent.sq(_solve_exactly(brent, x, 1e-22)) < 1e-22
    small = _polish(brent, x, iters=400, mu=1e-2)
    assert np.abs(small).max() < 10
    assert discretize((2, 2, 2), U, V, W, "sparsify").exact
