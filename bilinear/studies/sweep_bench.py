"""Benchmark of the batch-size study (wall-clock: NOT deterministic).

1. Batched vs one at a time: every run of the study is trained for `sweep_bench.ratio_epochs`
   epochs (a) all runs of a batch size at once, as the sweep stages do, and (b) one run at a time,
   both with bilinear.learn.training.train_runs (same code, same math).  The ratio is the summed
   time (b)/(a); the batched runs are checked bit for bit against (b).  One untimed epoch of each
   kind runs first, so the one-off costs of a process's first torch/numpy calls count for neither.
2. The full study (if `sweep_bench.full_study`): every batch size trained and crystallized exactly
   as by `dvc repro` of the sweep@B<size> stages (in one process), timed per phase; its rows are
   compared with the committed data/sweep/B<size>.csv.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bilinear.io import write_csv
from bilinear.learn.training import train_runs
from bilinear.studies import sweep
from bilinear.studies.batch_keys import batch_key
from bilinear.studies.sweep_batch import run_batch


class _Clock:
    """Wall-clock and CPU time (this process) since the last lap."""

    def __init__(self):
        self.last = (time.perf_counter(), time.process_time())

    def lap(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds) since the previous lap."""
        now = (time.perf_counter(), time.process_time())
        out, self.last = (now[0] - self.last[0], now[1] - self.last[1]), now
        return out


def _one(data: dict, r: int) -> dict:
    return {k: v[r:r + 1] for k, v in data.items()}


def ratio(seed: int, cfg: dict, epochs: int) -> dict:
    """Batched vs one-at-a-time training of every run of the study for `epochs` epochs."""
    per_batch, identical = {}, True
    for k, batch in enumerate(cfg["batch_sizes"]):
        runs = [r for r in sweep.design(cfg["protocols"], seed) if r.batch_size == batch]
        inputs = sweep.batch_inputs(runs, cfg)
        U, V, W, train, test = inputs.U, inputs.V, inputs.W, inputs.train_set, inputs.test_set
        shuffles = inputs.shuffle_seeds
        recipe = replace(inputs.recipe, epochs=epochs)
        if k == 0:  # untimed warm-up: the first torch/numpy calls of a process pay one-off costs
            for r in (slice(None), slice(0, 1)):
                train_runs(U[r], V[r], W[r], {key: v[r] for key, v in train.items()},
                           {key: v[r] for key, v in test.items()}, replace(recipe, epochs=1),
                           shuffles[r])
        clock = _Clock()
        batched = train_runs(U, V, W, train, test, recipe, shuffles)
        t_batched = clock.lap()
        for r in range(len(runs)):
            alone = train_runs(U[r:r + 1], V[r:r + 1], W[r:r + 1], _one(train, r), _one(test, r),
                               recipe, shuffles[r:r + 1])
            pairs = zip((alone.U, alone.V, alone.W), (batched.U, batched.V, batched.W), strict=True)
            identical &= all(bool(torch.equal(x[0], y[r])) for x, y in pairs)
        t_serial = clock.lap()
        times = {"batched": t_batched, "serial": t_serial}
        per_batch[str(batch)] = {"runs": len(runs), **{f"{k}_{unit}": v[i] for k, v in times.items()
                                                       for i, unit in enumerate(("s", "cpu_s"))}}
        print(f"ratio B={batch}: {len(runs)} runs, batched {t_batched[0]:.2f}s, one at a time "
              f"{t_serial[0]:.2f}s", file=sys.stderr)
    total = {f"{k}_{unit}": sum(v[f"{k}_{unit}"] for v in per_batch.values())
             for k in ("batched", "serial") for unit in ("s", "cpu_s")}
    scale = cfg["epochs"] / epochs
    return {
        "how": f"every run of the study trained for {epochs} epochs with "
               "bilinear.training.train_runs: all runs of a batch size at once vs one at a time; "
               "one process, 1 thread, same machine, side by side; *_s wall-clock, *_cpu_s CPU "
               "time of the process (less sensitive to other load); ratio = one-at-a-time time / "
               "batched time",
        "epochs": epochs, "per_batch_size": per_batch, **total,
        "ratio": total["serial_s"] / total["batched_s"],
        "ratio_cpu": total["serial_cpu_s"] / total["batched_cpu_s"],
        "batched_identical_to_alone": identical,
        "extrapolated_to_full_epochs_s": {k: v * scale for k, v in total.items()},
    }


def full_study(seed: int, cfg: dict) -> dict:
    """Train and crystallize every batch size as the sweep stages do; time it."""
    per_batch, matches = {}, {}
    start, cpu = time.perf_counter(), os.times()
    with tempfile.TemporaryDirectory() as tmp:
        for batch in cfg["batch_sizes"]:
            table, timing = run_batch(batch, seed, cfg, progress=True)
            per_batch[str(batch)] = timing
            name = f"{batch_key(batch)}.csv"
            mine, committed = Path(tmp) / name, Path("data/sweep") / name
            write_csv(mine, table, sweep.columns(cfg["kappa_percents"]))
            matches[str(batch)] = (committed.read_bytes() == mine.read_bytes()
                                   if committed.exists() else None)
            print(f"full study B={batch}: train {timing['train']:.1f}s, crystallize "
                  f"{timing['crystallize']:.1f}s", file=sys.stderr)
    total, end = time.perf_counter() - start, os.times()
    cpu_s = sum(getattr(end, k) - getattr(cpu, k)
                for k in ("user", "system", "children_user", "children_system"))
    return {"runs": sum(t["runs"] for t in per_batch.values()),
            "train_s": sum(t["train"] for t in per_batch.values()),
            "crystallize_s": sum(t["crystallize"] for t in per_batch.values()),
            "anneal_s": {m: sum(t["anneal"][m] for t in per_batch.values())
                         for m in next(iter(per_batch.values()))["anneal"]},
            "total_s": total, "cpu_s_incl_workers": cpu_s, "workers": cfg["workers"],
            "per_batch_size": per_batch,
            "rows_equal_data_sweep": matches}


def machine() -> dict:
    """Where the timings were taken."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
                 platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {"platform": platform.platform(), "cpu": model, "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "load_average_at_start": list(os.getloadavg())}
