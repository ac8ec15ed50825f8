"""Gaussian pair generation and seed derivation."""

from __future__ import annotations

import numpy as np
import pytest

from bilinear.learn.data import gaussian_pairs, make_datasets
from bilinear.seeds import PURPOSES, derived_seed


def test_derived_seed_is_deterministic_and_separates_purposes():
    assert derived_seed(0, "init") == derived_seed(0, "init")
    seeds = {derived_seed(s, p) for s in range(5) for p in PURPOSES}
    assert len(seeds) == 5 * len(PURPOSES)
    assert all(0 <= s < 2**63 for s in seeds)


@pytest.mark.parametrize("seed, purpose", [(-1, "init"), (0, "nonsense")])
def test_derived_seed_rejects_bad_input(seed, purpose):
    with pytest.raises(ValueError):
        derived_seed(seed, purpose)


def test_gaussian_pairs_are_products_in_row_major_convention():
    d = gaussian_pairs((2, 3, 4), 50, seed=1)
    assert d["a"].shape == (50, 6) and d["b"].shape == (50, 12) and d["c"].shape == (50, 8)
    A, B = d["a"].reshape(50, 2, 3), d["b"].reshape(50, 3, 4)
    assert np.array_equal(d["c"], (A @ B).reshape(50, 8))
    assert all(d[k].dtype == np.float64 for k in "abc")


def test_gaussian_pairs_deterministic_and_scaled():
    first, second = gaussian_pairs((2, 2, 2), 10, 3), gaussian_pairs((2, 2, 2), 10, 3)
    assert np.array_equal(first["a"], second["a"])
    big = gaussian_pairs((2, 2, 2), 4000, 0, scale=3.0)["a"]
    assert abs(big.std() - 3.0) < 0.1
    with pytest.raises(ValueError):
        gaussian_pairs((2, 2, 2), 0, 0)


def test_make_datasets_gives_distinct_train_and_test_sets():
    train, test = make_datasets((2, 2, 2), 16, 8, seed=0)
    assert train["a"].shape == (16, 4) and test["a"].shape == (8, 4)
    assert not np.allclose(train["a"][:8], test["a"])
    again, _ = make_datasets((2, 2, 2), 16, 8, seed=0)
    assert np.array_equal(train["c"], again["c"])


def test_data_stage_writes_sets_and_rejects_bad_params(tmp_path, monkeypatch, capsys):
    from bilinear.io import load_npz
    from stages import data as stage

    monkeypatch.chdir(tmp_path)
    base = "seed: 0\ntask:\n  format: [2, 2, 2]\ndata:\n  n_train: 8\n  n_test: 4\n  scale: 1.0\n"
    (tmp_path / "params.yaml").write_text(base)
    assert stage.main() == 0
    assert load_npz("data/train.npz")["a"].shape == (8, 4)
    (tmp_path / "params.yaml").write_text(base.replace("n_test: 4", "n_test: 0"))
    assert stage.main() == 2
    assert "error: data.n_test" in capsys.readouterr().err
