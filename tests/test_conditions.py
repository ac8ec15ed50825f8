"""Training conditions side by side: outcomes, summaries, curves and the figure on a tiny grid."""

from __future__ import annotations

import numpy as np
import pytest

from bilinear.learn.methods.anneal import Schedule
from bilinear.report.figures import grokking_figure
from bilinear.studies.conditions import (
    AnnealSetup,
    Condition,
    ConditionResult,
    curve_rows,
    run_condition,
    summarize,
)

SHORT = Schedule(fit_epochs=3, l1_epochs=3, penalty_epochs=3)
SETUP = AnnealSetup(1e-2, SHORT, {"tensor_loss": Schedule(3, 3, 3, loss="tensor"),
                                  "no_penalty": Schedule(3, 3, 3, penalty_end=0.0)})


@pytest.fixture(scope="module")
def tiny() -> ConditionResult:
    cond = Condition("tiny", batch_size=8, weight_decay=1e-4, epochs=6, n_train=24)
    return run_condition((2, 2, 2), cond, [11, 12], data_seed=0, n_test=32, slots=8,
                         pruned_slots=7, lr=1e-3, setup=SETUP)


def test_outcomes_have_one_entry_per_run(tiny):
    assert tiny.train_loss.shape == (6, 2) and tiny.test_loss.shape == (6, 2)
    assert len(tiny.grokking_epoch) == 2
    for method in ("round", "sparsify", "anneal", "anneal_tensor_loss", "anneal_no_penalty"):
        assert len(tiny.exact[method]) == 2 and len(tiny.margin[method]) == 2
        assert all(isinstance(x, bool) for x in tiny.exact[method])
    assert len(tiny.phase1_exact) == 2


def test_same_inputs_same_outcomes(tiny):
    again = run_condition((2, 2, 2), tiny.condition, [11, 12], 0, 32, 8, 7, 1e-3, SETUP)
    assert np.array_equal(again.train_loss, tiny.train_loss)
    assert again.exact == tiny.exact and again.margin == tiny.margin


def test_untrained_control_crystallizes_the_initialisation():
    cond = Condition("untrained", batch_size=8, weight_decay=0.0, epochs=0, n_train=24)
    res = run_condition((2, 2, 2), cond, [11], 0, 32, 8, 7, 1e-3, SETUP)
    assert res.train_loss.shape == (1, 1)
    assert res.train_loss[0, 0] > 0.5  # a random initialisation does not multiply matrices


def test_summary_counts_and_curves(tiny):
    s = summarize(tiny)
    assert s["runs"] == 2 and s["grokked_runs"] == 0  # 6 epochs cannot hold a 100-epoch plateau
    assert s["median_grokking_epoch"] is None
    assert s["exact_round"] == sum(tiny.exact["round"])
    assert s["exact_anneal_no_penalty"] == sum(tiny.exact["anneal_no_penalty"])
    rows = curve_rows(tiny)
    assert [r["epoch"] for r in rows] == list(range(1, 7))
    assert rows[0]["log10_train_loss"] == pytest.approx(np.log10(np.median(tiny.train_loss[0])))


def test_grokking_figure_is_a_png(tiny):
    png = grokking_figure({"tiny": (tiny.train_loss, tiny.test_loss)})
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == grokking_figure({"tiny": (tiny.train_loss, tiny.test_loss)})
