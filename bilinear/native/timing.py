"""The one timing harness of the kernel's measurements (bench, plan, leaderboard, first call,
kernel designs): a warm-up round, then contenders rotating round by round (round r starts with
contender r), an idle pause before every timed call so that BLAS worker threads of the previous
contender stop spinning, and per contender the median with its spread (min, quartiles, max)."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def peak_rss_bytes() -> int:
    """Peak resident memory so far of this process, in bytes: the kernel's high-water mark of
    this process's own memory (VmHWM), so a process started by fork and exec does not report
    its parent's peak, as getrusage's maxrss does on Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def spread(times: list[float]) -> dict:
    """Median, minimum, quartiles, maximum and count of a list of seconds."""
    q1, med, q3 = np.percentile(times, [25, 50, 75])
    return {"median": float(med), "min": float(min(times)), "q1": float(q1), "q3": float(q3),
            "max": float(max(times)), "rounds": len(times)}


@dataclass
class Timings:
    """What a harness run measured: warm-up seconds and the timed rounds, per contender."""

    warm: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)

    def median(self, name: str) -> float:
        """Median seconds of a contender over the timed rounds."""
        return float(np.median(self.times[name]))

    def summary(self) -> dict:
        """Per contender its spread (see spread) and its warm-up seconds."""
        return {name: spread(t) | {"warm_up": self.warm.get(name)}
                for name, t in self.times.items()}


class Harness:
    """Times contenders (name -> zero-argument callable); clock and sleep are injectable."""

    def __init__(self, pause: float = 0.0, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep):
        self.pause, self.clock, self.sleep = pause, clock, sleep

    def call(self, fn: Callable):
        """(seconds, result) of one call after the idle pause."""
        if self.pause > 0:
            self.sleep(self.pause)
        start = self.clock()
        out = fn()
        return self.clock() - start, out

    def warm_up(self, calls: dict, check: Callable | None = None) -> dict:
        """One untimed-for-statistics round in order: name -> seconds; check(name, result) is
        called on each result (e.g. its error) before the result is dropped."""
        warm = {}
        for name, fn in calls.items():
            warm[name], out = self.call(fn)
            if check is not None:
                check(name, out)
            del out
        return warm

    def rounds(self, calls: dict, repeats: int, progress: Callable | None = None) -> dict:
        """name -> seconds of each of `repeats` rounds, the order rotating by one each round;
        progress() is called after every round."""
        names = list(calls)
        times = {name: [] for name in names}
        for r in range(repeats):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                times[name].append(self.call(calls[name])[0])
            if progress is not None:
                progress()
        return times

    def run(self, calls: dict, repeats: int, check: Callable | None = None,
            progress: Callable | None = None) -> Timings:
        """A warm-up round (see warm_up) then `repeats` rotating rounds (see rounds)."""
        warm = self.warm_up(calls, check)
        return Timings(warm, self.rounds(calls, repeats, progress))
