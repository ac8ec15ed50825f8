"""Fuzz campaign over the stages: every input file of the learning stages damaged in every way
of tests/stage_fuzz.py (bytes, NaN, inf, shapes, dtypes, strings, empty, missing keys, files of
another format) and bad values of every params block.  Each case runs the stage's main() in a
copy of a working tiny project and must end with exit code 2, one line on stderr, no traceback,
within 10 s, every file of the copy unchanged; a seeded sample runs as real subprocesses.  Then
one test per failure measured by hand (NaN data, NaN checkpoints, huge params, ...)."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from tests.stage_fuzz import (
    ALL_ZERO,
    BENCH,
    NPZ,
    PT,
    damage_npz,
    damage_pt,
    file_cases,
    param_cases,
)
from tests.tiny_params import TINY, apply_overrides

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = [("data",), ("train",), ("prune",), ("discretize",), ("verify_expand",), ("kappa",),
            ("noise_ablate",), ("figures",), ("summary",), ("discover", "2x2x2"),
            ("discover_summary",), ("sweep", "B16"), ("sweep", "B32"), ("anova",)]
CASES = file_cases() + param_cases()


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _run(stage: str, argv: list[str]) -> int:
    main = importlib.import_module(f"stages.{stage}").main
    return main(argv) if argv else main()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A tiny project whose learning stages all ran (each must succeed: the checks pass valid
    inputs)."""
    root = tmp_path_factory.mktemp("fuzz_base")
    params = apply_overrides(yaml.safe_load((ROOT / "params.yaml").read_text()), TINY)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    (root / "metrics").mkdir()
    (root / "metrics/bench.json").write_text(json.dumps(BENCH))
    with pytest.MonkeyPatch.context() as patch:  # the sweep's partial results: not the user's
        patch.setenv("BILINEAR_CACHE_DIR", str(tmp_path_factory.mktemp("fuzz_cache")))
        patch.chdir(root)
        torch.set_num_threads(1)
        for stage, *argv in PIPELINE:
            assert _run(stage, argv) == 0, (stage, argv)
    return root


def _copy(base: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(base, root)
    return root


def _check_refused(root: Path, stage: str, argv: list[str], capsys, monkeypatch) -> str:
    """Run the stage in root; assert exit 2, one line, nothing changed, < 10 s.  Returns stderr."""
    before = _snapshot(root)
    monkeypatch.chdir(root)
    capsys.readouterr()
    start = time.monotonic()
    code = _run(stage, argv)
    seconds = time.monotonic() - start
    out, err = capsys.readouterr()
    assert code == 2, (code, out[-300:], err[-300:])
    assert err.count("\n") == 1 and err.startswith("error:"), err[-600:]
    assert "Traceback" not in out + err
    assert _snapshot(root) == before
    assert seconds < 10, seconds
    return err


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_case_refused_cleanly(base, tmp_path, capsys, monkeypatch, case):
    name, stage, argv, damage = case
    root = _copy(base, tmp_path)
    damage(root)
    err = _check_refused(root, stage, argv, capsys, monkeypatch)
    _, what, key = name.split(":", 2)
    named = key.split("=")[0].split(".")[-1] if what == "params" else what
    assert named in err, err  # refused for the damage done, naming the file or the param


DRIVER = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], " \
         "run_name='__main__')"


@pytest.mark.parametrize("case", random.Random(23).sample(CASES, 6), ids=lambda c: c[0])
def test_sample_as_real_subprocess(base, tmp_path, case):
    _, stage, argv, damage = case
    root = _copy(base, tmp_path)
    damage(root)
    before = _snapshot(root)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", f"stages.{stage}", *argv], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-600:]
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error:"), done.stderr
    assert _snapshot(root) == before
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert peak < 2 * 1024**3, peak


# --- one test per failure measured by hand -----------------------------------------------------

def test_nan_train_npz_train_rewrites_nothing(base, tmp_path, capsys, monkeypatch):
    root = _copy(base, tmp_path)
    damage_npz(root / "data/train.npz", NPZ["nan"])
    err = _check_refused(root, "train", [], capsys, monkeypatch)
    assert "data/train.npz[a]: 1 of" in err and "NaN or infinite" in err


def test_nan_trained_pt_prune_fails_before_rewriting_pruned(base, tmp_path, capsys, monkeypatch):
    root = _copy(base, tmp_path)
    damage_pt(root / "models/trained.pt", PT["nan"])
    assert "models/trained.pt[U]" in _check_refused(root, "prune", [], capsys, monkeypatch)


def test_nan_pruned_pt_discretize_keeps_algorithm_json(base, tmp_path, capsys, monkeypatch):
    root = _copy(base, tmp_path)
    damage_pt(root / "models/pruned.pt", PT["nan"])
    assert "models/pruned.pt[U]" in _check_refused(root, "discretize", [], capsys, monkeypatch)


def _set_method(root: Path, method: str) -> None:
    """params.yaml of the project at root with discretize.method set to method."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["discretize"]["method"] = method
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.parametrize("method", ["anneal", "round"])
def test_nan_train_npz_discretize_never_exits_0(base, tmp_path, capsys, monkeypatch, method):
    root = _copy(base, tmp_path)
    damage_npz(root / "data/train.npz", NPZ["nan"])
    _set_method(root, method)
    assert "data/train.npz" in _check_refused(root, "discretize", [], capsys, monkeypatch)


def test_degenerate_weights_never_written_as_a_scheme(base, tmp_path, capsys, monkeypatch):
    root = _copy(base, tmp_path)
    damage_pt(root / "models/pruned.pt", ALL_ZERO)
    _set_method(root, "round")
    err = _check_refused(root, "discretize", [], capsys, monkeypatch)
    assert "degenerate scheme (7 products, 0 nonzeros); not written" in err


def test_discretize_checks_train_npz_keys(base, tmp_path, capsys, monkeypatch):
    root = _copy(base, tmp_path)
    damage_npz(root / "data/train.npz", NPZ["missing_key"])
    assert "lacks key(s) c" in _check_refused(root, "discretize", [], capsys, monkeypatch)


@pytest.mark.parametrize("stage", ["noise_ablate", "kappa"])
def test_3x3x3_algorithm_json_refused(base, tmp_path, capsys, monkeypatch, stage):
    from tests.stage_fuzz import JSON

    root = _copy(base, tmp_path)
    path = root / "models/algorithm.json"
    path.write_text(JSON["format_3x3x3"](path.read_text()))
    err = _check_refused(root, stage, [], capsys, monkeypatch)
    assert "3x3x3" in err and "2x2x2" in err


@pytest.mark.parametrize("key, value, words", [
    ("init_scale", float("nan"), "train.init_scale: expected a finite number"),
    ("epochs", 10**12, "train.epochs: 1000000000000 epochs of loss history needs about"),
    ("slots", 10**8, "train.slots: 1 run(s) of 100000000 slots on 128 pairs needs about"),
])
def test_train_params_refused_before_allocating(base, tmp_path, capsys, monkeypatch, key, value,
                                                words):
    root = _copy(base, tmp_path)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"][key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    err = _check_refused(root, "train", [], capsys, monkeypatch)
    assert words in err and ("TiB" in err or "GiB" in err or "finite" in err), err


# --- interruptions ---------------------------------------------------------------------------

def _last_line(err: str) -> str:
    lines = [ln.split("\r")[-1].strip() for ln in err.strip().split("\n")]
    return lines[-1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("workers, after", [(1, 1), (2, 1), (2, 3)])
def test_discover_interrupted_keeps_walks_and_old_metrics(base, tmp_path, capsys, monkeypatch,
                                                          signum, workers, after):
    from bilinear.algebra import bundle
    from bilinear.search import pool

    root = _copy(base, tmp_path)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["discover"].update(seeds=2, walkers=2, workers=workers, round_flips=200_000,
                              max_rounds=10**6, collect_rounds=10**5)  # rounds without end
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    earlier = (root / "metrics/discover/2x2x2.json").read_bytes()  # the base's own run
    advance = pool.advance
    calls = []

    def advance_then_signal(*args, **kwargs):  # a round's results folded in: signal after `after`
        advance(*args, **kwargs)
        calls.append(1)
        if len(calls) == after:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(pool, "advance", advance_then_signal)
    monkeypatch.chdir(root)
    code = _run("discover", ["2x2x2"])
    err = capsys.readouterr().err
    assert code == 128 + signum and "Traceback" not in err
    assert _last_line(err).startswith(f"error: discover@2x2x2: interrupted by "
                                      f"{signal.Signals(signum).name} after ")
    folder = root / "schemes/found/2x2x2-r7"
    index = yaml.safe_load((folder / "index.json").read_text())["fingerprints"]
    keys = sorted(bundle.read_texts(folder / bundle.FILE))
    assert [e["fingerprint"] for e in index] == keys and sum(e["walks"] for e in index) >= 1
    assert (root / "metrics/discover/2x2x2.json").read_bytes() == earlier


def _job_then_signal(job):
    """The sweep's crystallization job; the first one to finish (across workers) signals the
    main process (signal number in $FUZZ_SIGNAL)."""
    from bilinear.studies import sweep

    result = sweep.ORIGINAL_JOB(job)
    try:
        os.close(os.open(os.environ["FUZZ_MARKER"], os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return result
    os.kill(os.getppid(), int(os.environ["FUZZ_SIGNAL"]))
    return result


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sweep_interrupted_writes_no_partial_table(base, tmp_path, capsys, monkeypatch, signum):
    from bilinear.studies import sweep

    root = _copy(base, tmp_path)
    for key in ("B16", "B32"):  # the base's tables replaced by an earlier run's
        (root / f"data/sweep/{key}.csv").write_text(f"{key} of an earlier run\n")
    before = _snapshot(root)
    monkeypatch.setenv("FUZZ_MARKER", str(tmp_path / "signalled"))
    monkeypatch.setenv("FUZZ_SIGNAL", str(int(signum)))
    monkeypatch.setattr(sweep, "ORIGINAL_JOB", sweep.crystallize_job, raising=False)
    monkeypatch.setattr(sweep, "crystallize_job", _job_then_signal)
    monkeypatch.chdir(root)
    code = _run("sweep", ["B32"])
    err = capsys.readouterr().err
    assert code == 128 + signum and "Traceback" not in err
    assert _last_line(err).startswith(f"error: sweep@B32: interrupted by "
                                      f"{signal.Signals(signum).name}")
    assert _snapshot(root) == before


def test_diverged_training_writes_nothing(base, tmp_path, capsys, monkeypatch):
    """Finite data so large that the training overflows: the NaN weights are refused."""
    root = _copy(base, tmp_path)
    for name in ("train", "test"):
        damage_npz(root / f"data/{name}.npz",
                   lambda d: {**d, "a": d["a"] * 1e160, "c": d["c"] * 1e160})
    before = _snapshot(root)
    monkeypatch.chdir(root)
    assert _run("train", []) == 2
    err = capsys.readouterr().err
    assert _last_line(err).startswith("error: models/trained.pt (the trained weights)[U]")
    assert "Traceback" not in err and "Warning" not in err
    assert _snapshot(root) == before
