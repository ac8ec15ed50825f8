"""Nothing finished is lost on interruption of the sweep: each crystallization is kept in a
partial-results file as it finishes; a rerun under the same key runs only the missing ones and
gives the bytes of an uninterrupted run; damaged lines and other keys are never trusted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bilinear.search.executor import Interrupted
from bilinear.search.resume import Partial, run_resumable
from bilinear.studies import sweep
from bilinear.studies import sweep_batch as stage
from tests.test_sweep import _csv, _params, _tiny

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"epochs": 10, "eval_epochs": [5, 10], "workers": 1}  # B16: 2 runs, 16 tasks


def _interrupt_after(monkeypatch, k: int) -> None:
    """SIGINT to this process as the k-th result is kept (delivered once it is written)."""
    add = Partial.add

    def add_then_signal(self, *args):
        add(self, *args)
        if self.kept == k:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Partial, "add", add_then_signal)


def _count_jobs(monkeypatch) -> list:
    """Record the crystallization jobs run in this process (one worker)."""
    ran, job = [], sweep.crystallize_job

    def counted(task):
        ran.append(task[0][:3])
        return job(task)

    monkeypatch.setattr(sweep, "crystallize_job", counted)
    return ran


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, monkeypatch):
    seed, cfg = _tiny(tmp_path, **SMALL)
    whole, _ = stage.run_batch(16, seed, cfg, progress=False)
    partial = stage.partial_results(16, seed, cfg, str(tmp_path))
    with monkeypatch.context() as m:
        _interrupt_after(m, 5)
        with pytest.raises(Interrupted) as caught:
            stage.run_batch(16, seed, cfg, progress=False, partial=partial)
    assert (caught.value.done, caught.value.total) == (partial.kept, partial.total) == (5, 16)
    assert len(partial.path.read_text().splitlines()) == 1 + 5
    again = stage.partial_results(16, seed, {**cfg, "workers": 2}, str(tmp_path))  # same key
    assert again.path == partial.path
    ran = _count_jobs(monkeypatch)
    resumed, _ = stage.run_batch(16, seed, cfg, progress=False, partial=again)
    assert len(ran) == len(whole) - 5  # only the missing tasks ran
    assert _csv(resumed, cfg) == _csv(whole, cfg)
    assert again.kept == len(whole)


def _half(x: int) -> float:
    return x / 2


def _check(result):
    if type(result) is not float:
        raise ValueError("not a float")
    return result


def test_a_damaged_line_is_ignored_and_its_task_rerun(tmp_path, capsys):
    path, ids = tmp_path / "p.jsonl", [[t] for t in range(6)]
    first = Partial(path, {"k": 1})
    assert run_resumable(_half, range(6), ids, first, _check, workers=1,
                         progress=False) == [t / 2 for t in range(6)]
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("1.0", "true")  # a wrong value: task 2
    path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:9])  # the last line cut: task 5
    second = Partial(path, {"k": 1})
    assert run_resumable(_half, range(6), ids, second, _check, workers=1,
                         progress=False) == [t / 2 for t in range(6)]
    err = capsys.readouterr().err.splitlines()
    assert [e for e in err if "warning" in e] == [
        f"warning: {path}: ignored 2 unreadable line(s) (line 4: ValueError: not a float); "
        "their tasks run again"]
    assert second.kept == 6 and sorted(json.loads(x)["i"] for x in
                                       path.read_text().splitlines()[1:]) == list(range(6))


def test_another_key_is_never_reused(tmp_path, capsys):
    seed, cfg = _tiny(tmp_path, **SMALL)
    here = str(tmp_path)
    paths = {stage.partial_results(b, s, c, p).path for b, s, c, p in [
        (16, seed, cfg, here), (32, seed, cfg, here), (16, seed + 1, cfg, here),
        (16, seed, {**cfg, "lr": cfg["lr"] * 2}, here),
        (16, seed, {**cfg, "anneal": {**cfg["anneal"], "lr": 0.5}}, here),
        (16, seed, cfg, here + "/copy")]}
    assert len(paths) == 6
    path, ids = tmp_path / "p.jsonl", [[t] for t in range(3)]
    run_resumable(_half, range(3), ids, Partial(path, {"k": 1}), _check, workers=1,
                  progress=False)
    other = Partial(path, {"k": 2})  # the same file, another key: nothing is reused
    ran = []
    assert run_resumable(lambda t: ran.append(t) or t / 2, range(3), ids, other, _check,
                         workers=1, progress=False) == [0.0, 0.5, 1.0]
    assert ran == [0, 1, 2] and "started afresh" in capsys.readouterr().err


def _start(cwd: Path, cache: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BILINEAR_SCHEDULER": "",
           "BILINEAR_CACHE_DIR": str(cache)}
    return subprocess.Popen([sys.executable, "-m", "stages.sweep", "B16"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _project(folder: Path, **overrides) -> Path:
    folder.mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump(_params(**overrides)))
    return folder


def test_stage_sigint_keeps_crystallizations_and_the_rerun_resumes(tmp_path):
    many = {**SMALL, "eval_epochs": [2, 4, 6, 8, 10]}  # 34 tasks, about 1.5 s on one worker
    reference = _start(_project(tmp_path / "whole", **many), tmp_path / "cache_whole")
    cwd, cache = _project(tmp_path / "cut", **many), tmp_path / "cache"
    proc = _start(cwd, cache)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
            len(p.read_text().splitlines()) > 3 for p in cache.glob("sweep/*.jsonl")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    last = err.strip().splitlines()[-1].split("\r")[-1].strip()
    assert proc.returncode == 130 and "Traceback" not in err, err[-500:]
    assert last.startswith("error: sweep@B16: interrupted by SIGINT") and err.count("error:") == 1
    assert "of 34 crystallizations kept in" in last and "rerunning resumes" in last
    [partial] = cache.glob("sweep/*.jsonl")
    kept = len(partial.read_text().splitlines()) - 1
    assert 3 <= kept < 34 and not (cwd / "data/sweep/B16.csv").exists()
    (cwd / "params.yaml").write_text(yaml.safe_dump(_params(**{**many, "workers": 2})))
    rerun = _start(cwd, cache)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err[-500:]
    assert f"resuming, {kept} of 34 tasks finished before" in err
    assert not partial.exists()
    assert reference.communicate(timeout=60) and reference.returncode == 0
    assert ((cwd / "data/sweep/B16.csv").read_bytes()
            == (tmp_path / "whole/data/sweep/B16.csv").read_bytes())


def test_stage_sigterm_during_training_is_one_line(tmp_path):
    cwd = _project(tmp_path / "long", epochs=100000, eval_epochs=[100000], workers=1)
    proc = _start(cwd, tmp_path / "cache")
    seen = ""
    while "train:" not in seen:  # its progress bar: inside training (100000 epochs take minutes)
        seen += proc.stderr.read(1) or pytest.fail(f"ended before training: {seen[-500:]}")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    err = seen + err
    last = err.strip().splitlines()[-1].split("\r")[-1].strip()
    assert proc.returncode == 143 and "Traceback" not in err, err[-500:]
    assert last.startswith("error: sweep@B16: interrupted by SIGTERM; stopped before "
                           "crystallizing") and err.count("error:") == 1
    assert not (cwd / "data/sweep/B16.csv").exists()
