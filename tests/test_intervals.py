"""bilinear.intervals: the one Wilson interval every layer reports."""

from __future__ import annotations

import pytest

from bilinear.intervals import wilson


def test_wilson_intervals_are_sane():
    rate = wilson(0, 100)
    assert rate["ci_low"] == 0.0 and 0.03 < rate["ci_high"] < 0.04
    rate = wilson(100, 100)
    assert 0.96 < rate["ci_low"] < 0.97 and rate["ci_high"] == pytest.approx(1.0)
    for k in (1, 30, 50, 99):
        rate = wilson(k, 100)
        assert 0.0 <= rate["ci_low"] < k / 100 == rate["rate"] < rate["ci_high"] <= 1.0
    rate = wilson(50, 100)
    assert 0.5 - rate["ci_low"] == pytest.approx(rate["ci_high"] - 0.5)


def test_wilson_alpha_and_empty():
    assert wilson(5, 10, alpha=0.01)["ci_low"] < wilson(5, 10, alpha=0.05)["ci_low"]
    assert wilson(0, 0) == {"rate": None, "ci_low": None, "ci_high": None, "n": 0, "successes": 0}
    # the textbook Wilson bound for 8/10 at 95%: (p + z^2/2n - z sqrt(...)) / (1 + z^2/n)
    assert wilson(8, 10)["ci_low"] == pytest.approx(0.4901624, abs=1e-6)
