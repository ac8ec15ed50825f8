"""The README's experiment recipe end to end on tiny params: a queue of two batch sizes, started
and waited for, then `dvc exp show --only-changed` gives a table that fits a terminal and holds
the columns a researcher compares."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.project_copy import copy_project
from tests.tiny_params import TINY, apply_overrides

pytestmark = pytest.mark.slow
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}


def _dvc(repo: Path, *args: str) -> str:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": path}
    run = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"dvc {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _commit(repo: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True,
                   env={**os.environ, **GIT_ENV})


def test_queued_batch_size_grid(tmp_path, monkeypatch):
    monkeypatch.setenv("BILINEAR_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "repo").mkdir()
    repo = copy_project(tmp_path / "repo", commit=False)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump(apply_overrides(params, TINY)))
    (repo / "dvc.lock").unlink(missing_ok=True)
    _commit(repo, "tiny params")
    _dvc(repo, "repro")
    _commit(repo, "baseline run")

    _dvc(repo, "exp", "run", "--queue", "-S", "train.batch_size=8,16")
    _dvc(repo, "queue", "start", "-j", "1")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        status = _dvc(repo, "queue", "status")
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(2)
    assert "Failed" not in status, status
    _dvc(repo, "queue", "stop")

    changed = _table(_dvc(repo, "exp", "show", "--only-changed", "--csv"))
    assert len(changed[0]) <= 60, changed[0]
    assert {r[changed[0].index("train.batch_size")] for r in changed[1:]} >= {"8", "16"}
    header = _table(_dvc(repo, "exp", "show", "--csv"))[0]
    for column in ("exact", "equivalent_to_strassen", "nonzeros", "margin"):
        assert column in header, (column, header)


def _table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))
