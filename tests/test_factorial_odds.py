"""studies.factorial initialisations and studies.odds' logistic odds ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from bilinear.studies import factorial
from bilinear.studies.odds import compare, odds_ratios


def test_initialisations_follow_their_definitions():
    fmt, seeds = (2, 2, 2), [1, 2, 3]
    U, V, W = factorial.initial_weights(fmt, 8, seeds, "tied", 0.5)
    assert torch.equal(U, V)
    U, V, W = factorial.initial_weights(fmt, 8, seeds, "independent", 0.5)
    assert not torch.equal(U, V)
    U, V, W = factorial.initial_weights(fmt, 8, seeds, "rademacher", 0.5)
    assert set(torch.cat([U.flatten(), V.flatten(), W.flatten()]).tolist()) == {-0.5, 0.5}
    U, V, W = factorial.initial_weights(fmt, 400, [1], "unequal", 0.5)
    assert abs(float(U.std()) - 1.0) < 0.1 and abs(float(V.std()) - 0.25) < 0.03
    assert torch.equal(factorial.initial_weights(fmt, 8, seeds, "unequal", 0.5)[0],
                       factorial.initial_weights(fmt, 8, seeds, "unequal", 0.5)[0])
    with pytest.raises(ValueError):
        factorial.initial_weights(fmt, 8, seeds, "other", 0.5)


def test_odds_ratios_recover_a_planted_effect():
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"a": rng.integers(0, 2, 2000), "b": rng.integers(0, 2, 2000)})
    logit = -0.5 + np.log(4.0) * rows["a"]
    rows["y"] = (rng.random(2000) < 1 / (1 + np.exp(-logit))).astype(int)
    fit = odds_ratios(rows, "y", {"a": [0, 1], "b": [0, 1]})
    assert fit["factors"]["a"]["ci_low"] < 4.0 < fit["factors"]["a"]["ci_high"]
    assert 0.7 < fit["factors"]["b"]["odds_ratio"] < 1.4
    rows["y"] = 1
    assert odds_ratios(rows, "y", {"a": [0, 1]})["degenerate"]


def test_fisher_comparison():
    assert compare(10, 10, 0, 10, "greater")["p"] < 1e-4
    assert compare(5, 10, 5, 10)["p"] == 1.0


def test_marginal_odds_ratio_stays_finite_under_separation():
    rows = pd.DataFrame({"a": [0] * 10 + [1] * 10, "y": [0] * 4 + [1] * 6 + [1] * 10})
    fit = odds_ratios(rows, "y", {"a": [0, 1]})
    m = fit["marginal"]["a"]
    assert m["table"] == [10, 0, 6, 4]
    assert np.isclose(m["odds_ratio"], (10.5 * 4.5) / (0.5 * 6.5))
    assert m["ci_low"] < m["odds_ratio"] < m["ci_high"] and np.isfinite(m["ci_high"])
