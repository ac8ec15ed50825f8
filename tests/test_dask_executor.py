"""The executor on a real Dask cluster: a scheduler and two workers on 127.0.0.1 give the same
schemes as local processes, also when a worker is killed mid-run, and pooled searches (rounds
of walks as tasks) give the same schemes as on local processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bilinear.algebra.schemes import strassen
from bilinear.search import discover
from bilinear.search.executor import run_tasks
from bilinear.seeds import walk_seed
from bilinear.studies import sweep

pytest.importorskip("distributed")
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
SEARCH = discover.Search(max_flips=30000, plateau=500, samples=2, sample_every=500,
                         max_coefficient=1)
LONG = discover.Search(max_flips=3_000_000, plateau=500, samples=1, sample_every=1,
                       max_coefficient=1)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str]) -> subprocess.Popen:
    """Start a dask process that can import the project, as the README asks of every node."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(BIN / "dask"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _wait_for(address: str, workers: int, timeout: float = 60.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(workers, timeout=timeout)


def _sweep_tasks() -> list[tuple]:
    """Sweep crystallization tasks of Strassen's scheme plus seeded noise, every method."""
    rng = np.random.default_rng(0)
    s = strassen()
    weights = [np.asarray(x, dtype=np.float64) for x in (s.U, s.V, s.W)]
    return [(k, 1, method, *(x + 0.05 * rng.normal(size=x.shape) for x in weights))
            for k in range(2) for method in sweep.METHODS]


def _strip(results):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in results]


@pytest.mark.slow
def test_dask_cluster_gives_the_local_results_and_survives_a_dead_worker():
    # rank 6 is out of reach: those walks run all their flips, so the run outlasts the killer
    tasks = [((2, 2, 2), 7, walk_seed(0, (2, 2, 2), k), SEARCH) for k in range(8)]
    tasks += [((2, 2, 2), 6, walk_seed(0, (2, 2, 2), k), LONG) for k in range(4)]
    local = run_tasks(discover.run_task, tasks, workers=2, progress=False)
    port = _port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard"])]
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(_start(["worker", address, "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", "--host", "127.0.0.1"]))
        _wait_for(address, 2)
        assert _strip(run_tasks(discover.run_task, tasks, scheduler=address,
                                progress=False)) == _strip(local)
        crystals = _sweep_tasks()
        assert (sweep.crystallize_all(crystals, 1e-22, 1, scheduler=address)
                == sweep.crystallize_all(crystals, 1e-22, 2))
        victim = procs[1]
        killer = threading.Timer(1.0, lambda: os.killpg(victim.pid, signal.SIGKILL))
        killer.start()
        results = run_tasks(discover.run_task, tasks, scheduler=address, progress=False)
        killer.join()
        assert victim.wait(timeout=10) is not None
        assert _strip(results) == _strip(local)
        assert sorted(r["seed"] for r in results) == sorted(t[2] for t in tasks)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.slow
def test_pooled_search_on_a_two_worker_cluster_gives_the_local_schemes():
    from bilinear.search.pool import PoolSearch, pooled_search

    cfg = PoolSearch("gf2", walkers=3, pool_size=4, round_flips=200_000, max_rounds=30,
                     plateau=2000, samples=3, sample_every=500, max_coefficient=1, lift_steps=19)
    seeds = [walk_seed(0, (3, 3, 3), k) for k in range(3)]

    def comparable(runs):
        return [(r.seed, r.rank, r.rounds, r.flips, r.pool, r.schemes, dict(r.lift),
                 [rank for rank, _ in r.history]) for r in runs]

    local = pooled_search((3, 3, 3), 23, seeds, cfg, workers=2)
    assert all(r.rank == 23 and r.schemes for r in local)
    port = _port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard"])]
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(_start(["worker", address, "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", "--host", "127.0.0.1"]))
        _wait_for(address, 2)
        remote = pooled_search((3, 3, 3), 23, seeds, cfg, scheduler=address)
        assert comparable(remote) == comparable(local)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
