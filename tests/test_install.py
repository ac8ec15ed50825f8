"""The package installs (not editable) and works from outside the repository: the `bilinear`
console script's info, verify and compile on shipped schemes, and the compiled kernel multiplies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A `pip install --no-deps --target` of the project; the environment to run it with."""
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    shutil.copy(ROOT / "pyproject.toml", source)  # a copy: setuptools writes build/ beside it
    shutil.copytree(ROOT / "bilinear", source / "bilinear",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True, cwd=source)
    env = {**os.environ, "PYTHONPATH": str(target),
           "BILINEAR_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    return {"target": target, "env": env, "cwd": tmp_path_factory.mktemp("elsewhere")}


def _run(installed: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["target"] / "bin" / "bilinear"), *args],
                          cwd=installed["cwd"], env=installed["env"], capture_output=True,
                          text=True, timeout=300)


def test_the_console_script_reads_and_verifies_shipped_schemes(installed):
    npz = str(ROOT / "schemes" / "alphatensor_r_plain.npz")
    info = _run(installed, "info", npz, "--key", "3x3x3")
    assert info.returncode == 0, info.stderr
    assert "rank: 23" in info.stdout and "verdict: exact" in info.stdout
    verify = _run(installed, "verify", str(ROOT / "models" / "algorithm.json"))
    assert verify.returncode == 0, verify.stderr


def test_compile_and_multiply_from_outside_the_repository(installed):
    out = installed["cwd"] / "kernel"
    done = _run(installed, "compile", str(ROOT / "models" / "algorithm.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    script = textwrap.dedent(f"""
        import numpy as np
        import bilinear
        from bilinear.native.kernel import Kernel
        assert {str(ROOT)!r} not in bilinear.__file__, bilinear.__file__
        rng = np.random.default_rng(0)
        A, B = rng.standard_normal((96, 80)), rng.standard_normal((80, 112))
        C = Kernel({str(out)!r}).matmul(A, B, levels=2)
        assert np.allclose(C, A @ B), abs(C - A @ B).max()
        print("ok")
        """)
    run = subprocess.run([sys.executable, "-c", script], cwd=installed["cwd"],
                         env=installed["env"], capture_output=True, text=True, timeout=300)
    assert run.stdout.strip() == "ok", run.stderr
