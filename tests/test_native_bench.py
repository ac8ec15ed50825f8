"""The benchmark library and the build_native/bench stages on tiny inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from bilinear.algebra.formats.project_json import save_scheme
from bilinear.algebra.schemes import canonical, strassen
from bilinear.native.accuracy import frobenius, reference, rel_error
from bilinear.native.bench import Extras, run
from bilinear.native.build import CFLAGS, build, read_config
from bilinear.native.kernel import Kernel, KernelInputError
from bilinear.native.leaderboard import candidate_levels
from tests.native_schemes import TEST_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
TINY_BENCH = {"sizes": [16, 33], "dtypes": ["float64", "float32"], "threads": [1, 2],
              "repeats": 1, "target_seconds": 0.0, "max_repeats": 1, "pause_seconds": 0.0,
              "warm_up_max_n": 16,  # N=33 warms up on its leading 16 x 16 block
              "numpy_max_n": 16, "additions_max_n": 33, "expansion_max_n": 16,
              # a margin below any loss: the plans recurse from 8 up
              "plan_sizes": [8, 16], "plan_repeats": 1, "plan_margin": -1e9, "first_call_n": 0}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> Kernel:
    path = tmp_path_factory.mktemp("bench") / "build"
    build(canonical(strassen()), path, TEST_SETTINGS)
    return Kernel(path)


@pytest.fixture(scope="module")
def additions(tmp_path_factory) -> Kernel:
    path = tmp_path_factory.mktemp("bench") / "additions"
    build(canonical(strassen()), path, TEST_SETTINGS, leaves=False)
    return Kernel(path)


def test_additions_only_build_skips_every_product(kernel, additions):
    A, B = np.ones((64, 64)), np.ones((64, 64))
    assert additions.config["leaves"] is False and kernel.config["leaves"] is True
    with pytest.raises(KernelInputError, match="no leaf products"):
        additions.matmul(A, B, threads=1, levels=2)
    assert not np.allclose(additions.matmul(A, B, threads=1, levels=2, diagnostic=True), A @ B)
    np.testing.assert_allclose(kernel.matmul(A, B, threads=1, levels=2), A @ B)


def test_rel_error():
    ref = np.eye(3)
    assert rel_error(ref, ref) == 0.0
    assert rel_error(2 * ref, ref) == pytest.approx(1.0)
    assert rel_error((2 * ref).astype(np.float32), ref, frobenius(ref)) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((2500, 7)), rng.standard_normal((7, 5))
    R = reference(A.astype(np.float32), B.astype(np.float32))  # float32 in row blocks
    assert R.dtype == np.float64
    np.testing.assert_allclose(R, A.astype(np.float32).astype(np.float64)
                               @ B.astype(np.float32).astype(np.float64), rtol=1e-12)
    assert frobenius(R) == pytest.approx(np.linalg.norm(R))


def test_run_records_every_cell(kernel, additions, plan_cache):
    extras = Extras(additions=additions, expansion_scheme=canonical(strassen()))
    result = run(kernel, TINY_BENCH, seed=0, extras=extras)
    assert len(result["cells"]) == 8
    for cell in result["cells"].values():
        for key in ("n", "dtype", "threads", "levels", "t_blas", "t_kernel", "t_kernel_min",
                    "t_kernel_max", "speedup_vs_blas", "speedup_vs_blas_range", "rel_error",
                    "rounds", "schedule"):
            assert key in cell
        assert cell["rel_error"] < (1e-13 if cell["dtype"] == "float64" else 5e-6)
        assert ("speedup_vs_numpy" in cell) == (cell["n"] <= 16)
        assert ("speedup_vs_expansion" in cell) == (cell["n"] <= 16 and cell["levels"] > 0)
        if cell["n"] <= 16:
            assert cell["rel_error_expansion"] < (1e-13 if cell["dtype"] == "float64" else 5e-6)
        assert ("additions_share" in cell) == (cell["levels"] > 0)
    assert [(p["dtype"], p["threads"], p["threshold"], p["origin"]["source"])
            for p in result["plans"]] == [(dt, t, 8, "measured") for dt in ("float64", "float32")
                                          for t in (1, 2)]
    assert all(p["origin"]["file"].startswith(str(plan_cache)) for p in result["plans"])
    assert result["cost"]["seconds"] > 0 and result["cost"]["peak_rss_bytes"] > 0
    machine = result["machine"]
    assert "cpu_flags" in machine and machine["isa_level"] in (0, 1, 2)
    assert machine["cores"] >= 1 and len(machine["load_average"]) == 3 and machine["blas"]
    again = run(kernel, {**TINY_BENCH, "sizes": [8]}, seed=0, extras=extras)
    assert {p["origin"]["source"] for p in again["plans"]} == {"cache"}  # wisdom reused


def test_build_targets_a_portable_baseline():
    assert not any("native" in flag for flag in CFLAGS)
    assert "-march=x86-64-v2" in CFLAGS


def test_build_is_byte_deterministic(tmp_path):
    first = build(canonical(strassen()), tmp_path / "a", TEST_SETTINGS)
    second = build(canonical(strassen()), tmp_path / "b", TEST_SETTINGS)
    assert first == second
    for name in (first["library"], "kernel.c", "config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _stage(repo: Path, name: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=repo, env=env,
                          capture_output=True, text=True)


def test_stages_end_to_end_and_param_errors(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["bench"] = {**TINY_BENCH, "sizes": [32], "plan_margin": 0.0, "first_call_n": 64}
    params["leaderboard"] = {"n": 72, "dtype": "float64", "leaf_min": 8, "repeats": 1}
    params["kernel_designs"] = {"n": 64, "threads": [1, 2], "repeats": 1, "pause_seconds": 0.0}
    (tmp_path / "schemes").mkdir()
    shutil.copy(ROOT / "schemes" / "alphatensor_r_plain.npz", tmp_path / "schemes")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    save_scheme(tmp_path / "models" / "algorithm.json", canonical(strassen()))
    for name in ("build_native", "build_reference", "bench", "leaderboard", "kernel_designs"):
        done = _stage(tmp_path, name)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"{name}:")
    cells = json.loads((tmp_path / "metrics" / "bench.json").read_text())["cells"]
    assert set(cells) == {f"{d}_t{t}_n32" for d in ("float64", "float32") for t in (1, 2)}
    result = json.loads((tmp_path / "metrics" / "bench.json").read_text())
    assert all(p["origin"]["source"] == "measured" and p["origin"]["key"]["threads"] in (1, 2)
               for p in result["plans"])
    board = json.loads((tmp_path / "metrics" / "leaderboard.json").read_text())
    assert {r["scheme"] for r in board["rows"]} == {"strassen", "winograd", "alphatensor_3x3x3",
                                                     "alphatensor_4x4x4"}
    assert all(r["rel_error"] < 1e-13 and r["levels"] >= 1 for r in board["rows"])
    assert all(r["schedule"] in ("breadth", "depth") for r in board["rows"])
    first = result["first_call"]
    assert [(c["dtype"], c["schedule"]) for c in first] == [
        (dt, s) for dt in ("float64", "float32") for s in ("breadth", "depth")]
    assert all(c["t_first"] > 0 and c["levels"] >= 1 for c in first)
    unplanned = result["first_call_unplanned"]
    assert [c["dtype"] for c in unplanned] == ["float64", "float32"]
    assert all(c["levels"] == 0 and c["t_first"] > 0 and c["t_numpy"] > 0
               and c["t_numpy_first"] > 0 and "no stored plan" in c["notice"] for c in unplanned)
    by_schedule = {(c["dtype"], c["schedule"]): c["workspace_over_operand"] for c in first}
    assert all(by_schedule[(dt, "depth")] <= 1 < by_schedule[(dt, "breadth")]
               for dt in ("float64", "float32"))
    assert (tmp_path / "plots" / "bench.csv").read_text().startswith("n,dtype,threads,levels")
    assert (tmp_path / "plots" / "bench_speedup.png").read_bytes()[:4] == b"\x89PNG"
    designs = json.loads((tmp_path / "metrics" / "kernel_designs.json").read_text())
    assert designs["scheme"] == {"source": "Strassen 1969"}
    assert {r["design"] for r in designs["cells"]} >= {"gemm", "plain", "flattened"}
    assert all(r["rel_error"] < 1e-12 for r in designs["cells"])

    params["bench"]["dtypes"] = ["float16"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = _stage(tmp_path, "bench")
    assert done.returncode == 2 and done.stderr.startswith("error: bench.dtypes")
    params["native"]["split"] = "yes"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = _stage(tmp_path, "build_native")
    assert done.returncode == 2 and "native.split" in done.stderr
    params["native"]["split"] = True
    params["bench"]["dtypes"] = ["float64"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    bad = strassen()
    bad.W[0, 0] = 0
    save_scheme(tmp_path / "models" / "algorithm.json", bad)
    done = _stage(tmp_path, "build_native")  # an experiment's outcome, not an error
    assert done.returncode == 0 and "no kernel built" in done.stdout, done.stderr
    assert read_config(tmp_path / "build" / "kernel") == {
        "built": False, "reason": done.stdout.split("no kernel built: ")[1].strip()}
    done = _stage(tmp_path, "bench")
    assert done.returncode == 0 and "nothing to time" in done.stdout, done.stderr
    result = json.loads((tmp_path / "metrics" / "bench.json").read_text())
    assert result["built"] is False and result["cells"] == {} and "not an exact" in result["reason"]
    assert (tmp_path / "plots" / "bench_speedup.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(FileNotFoundError, match="not an exact scheme"):
        Kernel(tmp_path / "build" / "kernel")


def test_candidate_levels_keep_leaves_above_the_minimum():
    assert candidate_levels((2, 2, 2), 4096, 256) == [1, 2, 3, 4]
    assert candidate_levels((3, 3, 3), 4096, 256) == [1, 2]
    assert candidate_levels((4, 4, 4), 4096, 256) == [1, 2]
    assert candidate_levels((4, 4, 4), 100, 256) == []
