"""The stages of the paper's untested hypotheses (geometry, init_symmetry, odds, finetune) and
their report rows, run on tiny params in a copy of the project (the committed sweep CSVs and
learned scheme as inputs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.project_copy import copy_project
from tests.tiny_params import TINY, apply_overrides

pytestmark = pytest.mark.slow
STAGES = {"geometry": ["metrics/curvature.json", "metrics/gradient_geometry.json",
                       "plots/gradient_spectra.png", "plots/weight_geometry.png"],
          "init_symmetry": ["metrics/init_symmetry.json"],
          "odds": ["metrics/odds.json", "plots/odds.csv"],
          "finetune": ["metrics/finetune.json"]}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("hypotheses")
    copy_project(dest, commit=False)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    (dest / "params.yaml").write_text(yaml.safe_dump(apply_overrides(params, TINY)))
    for outs in STAGES.values():
        for out in outs:
            (dest / out).unlink(missing_ok=True)
    return dest


def _run(repo: Path, module: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"stages.{module}"], cwd=repo,
                          capture_output=True, text=True)


def test_each_stage_writes_its_outputs_and_the_report_has_the_rows(repo):
    for stage, outs in STAGES.items():
        run = _run(repo, stage)
        assert run.returncode == 0, f"{stage}: {run.stderr[-2000:]}"
        assert all((repo / out).exists() for out in outs), stage
    curvature = json.loads((repo / "metrics/curvature.json").read_text())
    assert set(curvature["checkpoints"]) == {"e5", "e10", "e25", "s5", "s10", "s25", "final"}
    assert json.loads((repo / "metrics/finetune.json").read_text())["zero_shot"]["exact"]
    run = _run(repo, "report")
    assert run.returncode == 0, run.stderr[-2000:]
    report = (repo / "metrics/report.md").read_text()
    for row in ("Curvature criterion", "gradient-covariance condition number",
                "Symmetric initialization", "Odds ratios per factor", "Fine-tuning baseline"):
        assert row in report


def test_a_bad_param_stops_with_one_line(repo):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["odds"]["inits"] = ["tied", "tied"]
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    run = _run(repo, "odds")
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0
    assert "odds.inits" in run.stderr
