"""studies.finetune: the Kronecker-square start is exact before any training; a short run of
both starts gives one record per run, the same side by side as one after the other."""

from __future__ import annotations

import numpy as np

from bilinear.algebra.schemes import strassen, verify
from bilinear.learn.data import gaussian_pairs
from bilinear.learn.methods.anneal import Schedule
from bilinear.learn.training import Recipe, dataset_mse
from bilinear.studies import finetune


def test_kronecker_square_start_is_exact_before_training():
    sq = finetune.square(strassen())
    assert sq.fmt == (4, 4, 4) and sq.rank == 49 and verify(sq)
    U, V, W = finetune.kronecker_start(strassen(), [1, 2], 0.0)
    for got, want in zip((U, V, W), finetune.arrays(sq), strict=True):
        assert np.array_equal(got[0].numpy(), want) and np.array_equal(got[1].numpy(), want)
    data = gaussian_pairs((4, 4, 4), 32, 5)
    assert dataset_mse(U, V, W, data).max() < 1e-24


def test_perturbation_moves_the_start_by_its_scale():
    U0 = finetune.kronecker_start(strassen(), [3], 0.0)[0]
    U1 = finetune.kronecker_start(strassen(), [3], 0.1)[0]
    assert 0.05 < float((U1 - U0).std()) < 0.2


def test_zero_shot_and_a_tiny_run():
    zero = finetune.zero_shot(strassen())
    assert zero["exact"] and zero["fingerprint_matches"] and zero["rank"] == 49
    setup = finetune.FineTune(32, 8, Recipe(epochs=1, batch_size=16), 0.01,
                              Schedule(1, 1, 1))
    U, V, W = finetune.kronecker_start(strassen(), [4, 5], 0.0)
    out = finetune.run_start(U, V, W, [4, 5], 0, setup, strassen())
    assert len(out["runs"]) == 2 and out["seconds"] > 0
    assert {"exact", "returns_to_start", "fingerprint_matches"} <= set(out["runs"][0])


def test_starts_side_by_side_give_the_records_of_one_after_the_other():
    setup = finetune.FineTune(32, 8, Recipe(epochs=2, batch_size=16), 0.01, Schedule(1, 1, 1))
    starts = {"kronecker": finetune.kronecker_start(strassen(), [4, 5], 0.1),
              "random": finetune.random_start([4, 5], "symmetric", 0.5)}
    serial = {n: finetune.run_start(*s, [4, 5], 0, setup, strassen())["runs"]
              for n, s in starts.items()}
    both = finetune.run_starts(starts, [4, 5], 0, setup, strassen(), workers=2)
    assert list(both) == ["kronecker", "random"]
    assert {n: r["runs"] for n, r in both.items()} == serial
