"""SIGINT and SIGTERM stop discovery and the executor's workers at once with one line; every
walk finished before the signal is written and index.json always lists exactly the folder's
scheme files (merged with an index already there, rebuilt when it is missing or corrupt)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bilinear.algebra import bundle
from bilinear.algebra.schemes import verify
from bilinear.search import discover
from bilinear.search.executor import Interrupted, run_tasks

ROOT = Path(__file__).resolve().parent.parent
QUICK = discover.Search(max_flips=200_000, plateau=500, samples=1, sample_every=500,
                        max_coefficient=1)
ENDLESS = discover.Search(max_flips=10**12, plateau=500, samples=1, sample_every=500,
                          max_coefficient=1)  # 3x3x3 at rank 21: a walk that never returns


def _interrupt_after_first(signum: int):
    def on_result(i, result):
        if on_result.calls == 0:
            os.kill(os.getpid(), signum)
        on_result.calls += 1
    on_result.calls = 0
    return on_result


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_pool_workers_in_c_code_are_stopped(signum):
    tasks = [((2, 2, 2), 7, 1, QUICK), ((3, 3, 3), 21, 2, ENDLESS), ((3, 3, 3), 21, 3, ENDLESS)]
    on_result = _interrupt_after_first(signum)
    with pytest.raises(Interrupted) as caught:
        run_tasks(discover.run_task, tasks, workers=2, progress=False, on_result=on_result)
    assert caught.value.done == 1 and caught.value.total == 3
    assert caught.value.exit_code == 128 + signum
    assert on_result.calls == 1  # the result that triggered the signal was delivered whole
    time.sleep(0.2)
    assert not multiprocessing.active_children()


def test_serial_run_stops_between_tasks():
    tasks = [((2, 2, 2), 7, s, QUICK) for s in range(4)]
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the suite runs in the background
    with pytest.raises(Interrupted) as caught:
        run_tasks(discover.run_task, tasks, workers=1, progress=False,
                  on_result=_interrupt_after_first(signal.SIGINT))
    assert caught.value.done == 1
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


def _listed(folder: Path) -> list[str]:
    index = json.loads((folder / "index.json").read_text())["fingerprints"]
    return [e["fingerprint"] for e in index]


def _scheme_files(folder: Path) -> list[str]:
    """The keys of the folder's bundle (none where there is no bundle yet)."""
    path = folder / bundle.FILE
    return sorted(bundle.read_texts(path)) if path.exists() else []


def test_second_search_merges_with_the_index(tmp_path):
    first = discover.search_into(tmp_path, (2, 2, 2), 7, 0, QUICK, 2, 1, None, "t", own=False)
    counts = {e["fingerprint"]: e["walks"] for e in
              json.loads((tmp_path / "index.json").read_text())["fingerprints"]}
    assert sum(counts.values()) == sum(len(r["schemes"]) for r in first)
    discover.search_into(tmp_path, (2, 2, 2), 7, 1, QUICK, 2, 1, None, "t", own=False)
    merged = {e["fingerprint"]: e["walks"] for e in
              json.loads((tmp_path / "index.json").read_text())["fingerprints"]}
    assert set(counts) <= set(merged) and _listed(tmp_path) == _scheme_files(tmp_path)
    assert all(merged[k] >= counts[k] for k in counts)


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_index_rebuilt_from_the_files(tmp_path, damage):
    discover.search_into(tmp_path, (2, 2, 2), 7, 0, QUICK, 2, 1, None, "t", own=False)
    if damage == "missing":
        (tmp_path / "index.json").unlink()
    else:
        (tmp_path / "index.json").write_text("{\"fingerprints\": [")
    (tmp_path / "notes.json").write_text("{}")  # not a scheme file: neither listed nor touched
    assert set(discover.read_index(tmp_path)) == set(_scheme_files(tmp_path)) - {"notes"}
    discover.search_into(tmp_path, (2, 2, 2), 7, 5, QUICK, 1, 1, None, "t", own=False)
    assert _listed(tmp_path) == sorted(set(_scheme_files(tmp_path)) - {"notes"})
    assert (tmp_path / "notes.json").read_text() == "{}"


def _stage_dir(tmp_path: Path, target: str, rank: int, seeds: int, cfg: discover.Search,
               walkers: int) -> Path:
    """A project folder whose params run pooled discovery of one target: `seeds` runs of
    `walkers` walks per round, cfg's flips per walk, rounds without end."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["discover"].update(targets={target: rank}, seeds=seeds, ring="integer",
                              walkers=walkers, round_flips=cfg.max_flips, max_rounds=10**6,
                              collect_rounds=10**5, plateau=cfg.plateau, samples=cfg.samples,
                              sample_every=cfg.sample_every, workers=2, scheduler=None,
                              census={})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def _start_stage(cwd: Path, target: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BILINEAR_SCHEDULER": ""}
    return subprocess.Popen([sys.executable, "-m", "stages.discover", target], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen, signum: int) -> tuple[float, str]:
    start = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    return time.monotonic() - start, err


def test_stage_sigint_after_first_walks_keeps_them(tmp_path):
    cwd = _stage_dir(tmp_path, "2x2x2", 7, 2, QUICK, 2)  # each round at the target adds some
    folder = cwd / "schemes/found/2x2x2-r7"
    proc = _start_stage(cwd, "2x2x2")
    deadline = time.monotonic() + 60
    while not (folder / "index.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(3.0)  # rounds finish; the bundle is written every 30 s and on the signal
    seconds, err = _stop(proc, signal.SIGINT)
    assert proc.returncode == 130 and seconds < 5, (seconds, err[-500:])
    last = err.strip().splitlines()[-1].split("\r")[-1].strip()
    assert last.startswith("error: discover@2x2x2: interrupted by SIGINT"), err[-500:]
    assert "Traceback" not in err
    assert _listed(folder) == _scheme_files(folder) != []
    assert all(verify(s) for s in bundle.read_all(folder / bundle.FILE).values())
    assert not (cwd / "metrics/discover/2x2x2.json").exists()


def test_stage_sigterm_stops_walks_in_c_code(tmp_path):
    cwd = _stage_dir(tmp_path, "3x3x3", 21, 4, ENDLESS, 1)
    folder = cwd / "schemes/found/3x3x3-r21"
    proc = _start_stage(cwd, "3x3x3")
    deadline = time.monotonic() + 60
    while not (folder / "index.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the walks are in C by now
    seconds, err = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 143 and seconds < 5, (seconds, err[-500:])
    assert "interrupted by SIGTERM after 0 of 4" in err and "Traceback" not in err
    assert _listed(folder) == _scheme_files(folder) == []


def test_cli_discover_sigint_keeps_finished_walks(tmp_path):
    out = tmp_path / "found"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BILINEAR_SCHEDULER": ""}
    proc = subprocess.Popen([sys.executable, "-m", "bilinear", "discover", "2x2x2", "--rank", "7",
                             "--seeds", "20000", "--max-flips", "200000", "--plateau", "500",
                             "--samples", "1", "--workers", "2", "--out", str(out)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while not (out.is_dir() and _scheme_files(out)) and time.monotonic() < deadline:
        time.sleep(0.05)
    seconds, err = _stop(proc, signal.SIGINT)
    assert proc.returncode == 130 and seconds < 5, (seconds, err[-500:])
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error:")
    assert _listed(out) == _scheme_files(out) != []


@pytest.mark.slow
def test_dask_tasks_stop_on_sigint():
    pytest.importorskip("distributed")
    from distributed import Client

    from tests.test_dask_executor import _port, _start, _wait_for

    port = _port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])]
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(_start(["worker", address, "--nthreads", "1", "--no-dashboard",
                                 "--host", "127.0.0.1"]))
        _wait_for(address, 2)
        tasks = [((2, 2, 2), 7, 1, QUICK), ((3, 3, 3), 21, 2, ENDLESS), ((3, 3, 3), 21, 3, ENDLESS)]
        with pytest.raises(Interrupted) as caught:
            run_tasks(discover.run_task, tasks, scheduler=address, progress=False,
                      on_result=_interrupt_after_first(signal.SIGINT))
        assert caught.value.done == 1
        with Client(address, timeout="30s") as client:
            deadline = time.monotonic() + 30
            while any(client.processing().values()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not any(client.processing().values())
            client.wait_for_workers(2, timeout=30)  # the nannies restarted the ended workers
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_cli_second_discover_merges_the_index(tmp_path, capsys):
    from bilinear.cli import main

    out = tmp_path / "found"
    args = ["discover", "2x2x2", "--rank", "7", "--seeds", "3", "--max-flips", "200000",
            "--plateau", "500", "--samples", "2", "--workers", "1", "--out", str(out)]
    assert main(args) == 0
    first = {e["fingerprint"]: e["walks"] for e in
             json.loads((out / "index.json").read_text())["fingerprints"]}
    assert main(args[:4] + ["--seeds", "5"] + args[6:]) == 0
    second = {e["fingerprint"]: e["walks"] for e in
              json.loads((out / "index.json").read_text())["fingerprints"]}
    assert set(first) <= set(second) and sorted(second) == _scheme_files(out)
    assert all(second[k] > first[k] for k in first)  # the walks of both runs are counted
