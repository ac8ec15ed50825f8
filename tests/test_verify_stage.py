"""Tests for stages/verify_expand.py on tiny params in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.formats.project_json import save_scheme
from bilinear.algebra.schemes import strassen
from stages import verify_expand
from tests.test_schemes import known_schemes_npz
from tests.tiny_params import TINY, apply_overrides

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    params = apply_overrides(yaml.safe_load((ROOT / "params.yaml").read_text()),
                             {"verify": TINY["verify"]})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(workdir, scheme) -> tuple[dict, str]:
    save_scheme(workdir / "models" / "algorithm.json", scheme)
    assert verify_expand.main() == 0
    return (json.loads((workdir / "metrics" / "verify.json").read_text()),
            (workdir / "plots" / "expansion.csv").read_text())


def test_strassen_metrics_and_determinism(workdir):
    metrics, csv = _run(workdir, strassen())
    assert metrics["exact"] and metrics["expansion_success"]
    assert metrics["equivalence"]["equivalent_to_strassen"] is True
    assert set(metrics["max_rel_error"]) == {"2", "5", "16"}
    assert all(err < 1e-14 for err in metrics["max_rel_error"].values())
    perm = metrics["permutation_test"]
    assert perm["tested"] == 120 and perm["coherent"]["exact"] == 120
    assert perm["w_only"]["exact"] == 1
    assert csv.splitlines()[0].startswith("size,levels,rel_error_float64")
    first = (workdir / "metrics" / "verify.json").read_bytes()
    _run(workdir, strassen())
    assert (workdir / "metrics" / "verify.json").read_bytes() == first


def test_broken_and_non_2x2_schemes(workdir):
    broken = strassen()
    broken.V[2, 1] = 0
    metrics, _ = _run(workdir, broken)
    assert not metrics["exact"] and not metrics["expansion_success"]
    assert metrics["equivalence"]["equivalent_to_strassen"] is False
    assert metrics["max_rel_error"]["16"] > 0.01
    metrics, _ = _run(workdir, load_npz_scheme(known_schemes_npz(), "2x2x3"))
    assert metrics["exact"] and metrics["equivalence"]["equivalent_to_strassen"] is None
    assert metrics["permutation_test"]["coherent"]["exact"] == 120


@pytest.mark.parametrize("key, value", [("cutoff", 0), ("dtypes", ["float16"]),
                                        ("sizes", []), ("trials", "2")])
def test_bad_params_exit_2(workdir, capsys, key, value):
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["verify"][key] = value
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    save_scheme(workdir / "models" / "algorithm.json", strassen())
    assert verify_expand.main() == 2
    assert capsys.readouterr().err.startswith(f"error: verify.{key}")


def test_unreadable_algorithm_exit_2(workdir, capsys):
    (workdir / "models").mkdir()
    (workdir / "models" / "algorithm.json").write_text("{}")
    assert verify_expand.main() == 2
    assert "models/algorithm.json" in capsys.readouterr().err
