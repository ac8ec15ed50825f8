"""End to end: the whole DVC pipeline on tiny params in a throwaway git repository.

Checks that `dvc repro` runs every stage, that `dvc exp run -S train.batch_size=64` reruns train and
its descendants but not `data`, that `dvc metrics diff --json` parses, and that the same params give
the same bytes of models/algorithm.json and of the deterministic metrics.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.project_copy import copy_project
from tests.tiny_params import TINY, apply_overrides

pytestmark = pytest.mark.slow

# Metrics whose bytes must not depend on anything but the params (timings live elsewhere).
DETERMINISTIC = ["metrics/train.json", "metrics/prune.json", "metrics/discretize.json",
                 "metrics/verify.json"]


def _dvc(repo: Path, *args: str, stdout_only: bool = False) -> str:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": path}  # stages run this interpreter
    run = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, f"dvc {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout if stdout_only else run.stdout + run.stderr


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("pipeline")
    copy_project(dest, commit=False)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    (dest / "params.yaml").write_text(yaml.safe_dump(apply_overrides(params, TINY)))
    for path in ["dvc.lock", *DETERMINISTIC]:  # start from nothing, not from the committed run
        (dest / path).unlink(missing_ok=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run(["git", "commit", "-qm", "tiny params"], cwd=dest, check=True, env=env)
    return dest


def test_repro_then_exp_run(repo):
    first = _dvc(repo, "repro")
    stages = set(yaml.safe_load((repo / "dvc.yaml").read_text())["stages"])
    assert {"data", "train", "prune", "discretize", "verify_expand"} <= _ran(first)
    assert _ran(first) == {s for s in _ran(first) if s.split("@")[0] in stages}
    discretize = json.loads((repo / "metrics/discretize.json").read_text())
    for key in ("exact", "fallback", "method", "margin", "rank", "nonzeros",
                "equivalent_to_strassen"):
        assert key in discretize
    verify = json.loads((repo / "metrics/verify.json").read_text())
    assert "exact" in verify and "max_rel_error" in verify

    before = {p: (repo / p).read_bytes() for p in ["models/algorithm.json", "models/trained.pt",
                                                    "models/pruned.pt", *DETERMINISTIC]}
    forced = _dvc(repo, "repro", "-f", "discretize")  # forces discretize and everything after
    assert {"data", "train", "prune", "discretize"} <= _ran(forced)
    after = {p: (repo / p).read_bytes() for p in before}
    assert after == before, "same params gave different bytes"

    exp = _dvc(repo, "exp", "run", "-S", "train.batch_size=64")
    assert "data" not in _ran(exp), "data reran although its params did not change"
    assert {"train", "prune", "discretize"} <= _ran(exp)
    diff = json.loads(_dvc(repo, "metrics", "diff", "--json", stdout_only=True))
    assert isinstance(diff, dict)


def test_adding_a_batch_size_adds_one_sweep_stage(repo):
    _dvc(repo, "repro")
    assert json.loads(_dvc(repo, "status", "--json", stdout_only=True)) == {}
    path = repo / "params.yaml"
    original = path.read_text()
    params = yaml.safe_load(original)
    params["sweep"]["batch_sizes"]["B8"] = ["A"]
    path.write_text(yaml.safe_dump(params))
    try:
        status = json.loads(_dvc(repo, "status", "--json", stdout_only=True))
    finally:
        path.write_text(original)
    assert {s for s in status if s.startswith("sweep@")} == {"sweep@B8"}
    assert {"anova", "sweep_bench"} <= set(status)  # they read every batch size
