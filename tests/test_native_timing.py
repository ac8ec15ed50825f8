"""The timing harness with a fake clock: warm-up, rotating rounds, medians and spread."""

from __future__ import annotations

import pytest

from bilinear.native.timing import Harness, peak_rss_bytes, spread


class FakeClock:
    """A clock that advances only when a contender runs (by its cost) and records the order."""

    def __init__(self):
        self.now, self.order, self.slept = 0.0, [], []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def contender(self, name: str, costs: list[float]):
        it = iter(costs)

        def run():
            self.order.append(name)
            self.now += next(it)
            return name
        return run


def test_rounds_rotate_and_medians_are_taken():
    clock = FakeClock()
    calls = {"a": clock.contender("a", [9.0, 1.0, 5.0, 3.0]),
             "b": clock.contender("b", [9.0, 2.0, 2.0, 8.0]),
             "c": clock.contender("c", [9.0, 4.0, 4.0, 4.0])}
    seen = []
    timings = Harness(pause=0.5, clock=clock, sleep=clock.sleep).run(
        calls, 3, check=lambda name, out: seen.append((name, out)))
    assert clock.order == ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert seen == [("a", "a"), ("b", "b"), ("c", "c")]  # the warm-up's results are checked
    assert timings.warm == {"a": 9.0, "b": 9.0, "c": 9.0}  # not in the statistics
    assert timings.times == {"a": [1.0, 5.0, 3.0], "b": [2.0, 2.0, 8.0], "c": [4.0, 4.0, 4.0]}
    assert timings.median("a") == 3.0 and timings.median("b") == 2.0
    summary = timings.summary()
    assert summary["b"]["min"] == 2.0 and summary["b"]["max"] == 8.0
    assert summary["b"]["rounds"] == 3 and summary["b"]["warm_up"] == 9.0
    assert clock.slept == [0.5] * 12  # an idle pause before every call


def test_no_pause_means_no_sleep():
    clock = FakeClock()
    Harness(clock=clock, sleep=clock.sleep).run({"a": clock.contender("a", [1.0, 1.0])}, 1)
    assert clock.slept == []


def test_spread_and_peak_memory():
    s = spread([4.0, 1.0, 3.0, 2.0, 100.0])
    assert s["median"] == 3.0 and s["min"] == 1.0 and s["max"] == 100.0
    assert s["q1"] == pytest.approx(2.0) and s["q3"] == pytest.approx(4.0)
    assert peak_rss_bytes() > 1 << 20
