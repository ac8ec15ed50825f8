"""Every stage that reads a checkpoint, npz or scheme file stops with one line naming the file
when it is truncated or random bytes, exits non-zero and overwrites nothing."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.schemes import strassen
from bilinear.io import save_npz, save_torch
from tests.project_copy import copy_project

INPUTS = ["data/train.npz", "models/trained.pt", "models/pruned.pt", "models/algorithm.json"]
# stage -> the corrupted input it reads first
STAGES = {"train": "data/train.npz", "prune": "models/trained.pt",
          "discretize": "models/pruned.pt", "kappa": "models/trained.pt",
          "noise_ablate": "models/algorithm.json", "verify_expand": "models/algorithm.json",
          "build_native": "models/algorithm.json", "bench": "models/algorithm.json",
          "figures": "models/trained.pt"}


def _good_inputs(root: Path) -> None:
    rng = np.random.default_rng(0)
    save_npz(root / INPUTS[0], **{k: rng.normal(size=(8, 4)) for k in "abc"})
    ckpt = {"format": [2, 2, 2], "U": torch.zeros(1, 7, 4), "V": torch.zeros(1, 7, 4),
            "W": torch.zeros(1, 4, 7), "seed": 0}
    save_torch(root / INPUTS[1], ckpt)
    save_torch(root / INPUTS[2], ckpt)
    (root / INPUTS[3]).write_text(scheme_to_json(strassen()))


def _corrupt(root: Path, how: str) -> None:
    rnd = random.Random(0)
    for name in INPUTS:
        path = root / name
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if how == "truncated"
                         else rnd.randbytes(len(data)))


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
            and "__pycache__" not in p.parts}


# Runs every stage's main() in one fresh interpreter (torch is imported once, not per stage),
# from the corrupted copy's directory; an escaping exception is reported as a traceback.
DRIVER = """
import contextlib, importlib, io, json, os, sys, traceback
results = {}
for root, name in json.loads(sys.argv[1]):
    os.chdir(root)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = importlib.import_module("stages." + name).main()
        except BaseException:
            code, err = "traceback", io.StringIO("Traceback: " + traceback.format_exc())
    results[root + ":" + name] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    roots, before = {}, {}
    for how in ("truncated", "random"):
        root = copy_project(tmp_path_factory.mktemp(how) / "repo", commit=False)
        _good_inputs(root)
        _corrupt(root, how)
        roots[how], before[how] = root, _snapshot(root)
    cases = [[str(roots[how]), name] for how in roots for name in STAGES]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(cases)], cwd=roots["random"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    results = {(how, name): tuple(raw[f"{roots[how]}:{name}"]) for how in roots
               for name in STAGES}
    return results, before, {how: _snapshot(roots[how]) for how in roots}


@pytest.mark.parametrize("how", ["truncated", "random"])
@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_stops_with_one_line(runs, stage, how):
    results, _, _ = runs
    code, out, err = results[how, stage]
    assert isinstance(code, int) and code != 0, (stage, out, err)
    assert err.count("\n") == 1 and err.startswith("error:"), (stage, err)
    assert STAGES[stage] in err, (stage, err)
    assert "Traceback" not in err + out


def test_nothing_overwritten(runs):
    _, before, after = runs
    assert after == before


@pytest.mark.parametrize("content", [b"{\"truncated\": ", b"\xff\xfe\x00garbage", b"[1, 2]"])
def test_report_names_a_corrupt_metrics_file(tmp_path, monkeypatch, capsys, content):
    from stages import report

    (tmp_path / "metrics").mkdir()
    for name in report.METRICS:
        (tmp_path / "metrics" / f"{name}.json").write_text("{}")
    (tmp_path / "metrics" / "kappa.json").write_bytes(content)
    (tmp_path / "params.yaml").write_text(Path("params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    assert report.main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: metrics/kappa.json"), err
    assert not (tmp_path / "metrics" / "report.md").exists()
