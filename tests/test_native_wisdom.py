"""Plans as per-machine wisdom: stored, reloaded, never reused under another key, a corrupt
file ignored with one line and measured again; a Kernel without a plan never measures."""

from __future__ import annotations

import numpy as np
import pytest

from bilinear.algebra.schemes import canonical, strassen
from bilinear.native import kernel as kernel_module
from bilinear.native import timing, tune, wisdom
from bilinear.native.build import build
from bilinear.native.kernel import Kernel
from tests.native_schemes import TEST_SETTINGS


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("wisdom") / "build"
    build(canonical(strassen()), path, TEST_SETTINGS)
    return path


def _fake_plan(dtype="float64", threads=1, threshold=64):
    return {"dtype": dtype, "threads": threads, "threshold": threshold, "schedule": "depth",
            "margin": 0.02, "thresholds": {"depth": threshold}, "cells": []}


def test_cache_dir_follows_the_environment(plan_cache, monkeypatch, tmp_path):
    assert wisdom.cache_dir() == plan_cache
    monkeypatch.delenv("BILINEAR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert wisdom.cache_dir() == tmp_path / "bilinear"


def test_key_names_what_the_choice_depends_on(build_dir):
    config = Kernel(build_dir, use_wisdom=False).config
    key = wisdom.plan_key(config, np.float32, 4)
    assert key["dtype"] == "float32" and key["threads"] == 2
    assert key["scheme"] == {"format": [2, 2, 2], "rank": 7}
    assert key["cpu"] and len(key["code_sha256"]) == 64 and "config" in key["blas"]
    assert wisdom.plan_key(config, np.float32, 2) == key
    assert wisdom.digest(wisdom.plan_key(config, np.float64, 2)) != wisdom.digest(key)


def test_round_trip_and_a_different_key_is_not_reused(build_dir, plan_cache):
    config = Kernel(build_dir, use_wisdom=False).config
    key = wisdom.plan_key(config, np.float64, 1)
    assert wisdom.load(key) is None
    path = wisdom.store(key, _fake_plan())
    assert path.parent == plan_cache and wisdom.load(key) == _fake_plan()
    other = dict(key, code_sha256="0" * 64)  # e.g. the kernel's generic code changed
    assert wisdom.load(other) is None
    # even a file at the other key's path holding this key's plan is not reused
    wisdom.path_for(other).write_text(path.read_text())
    assert wisdom.load(other) is None
    k = Kernel(build_dir)
    assert k.levels_for(64, 64, 64, np.float64, 1) == 1  # the stored plan, loaded
    assert k.levels_for(63, 64, 64, np.float64, 1) == 0


def test_corrupt_cache_is_ignored_with_one_line_and_measured_again(build_dir, capsys,
                                                                    monkeypatch):
    k = Kernel(build_dir, use_wisdom=False)
    key = wisdom.plan_key(k.config, np.float64, 1)
    wisdom.path_for(key).parent.mkdir(parents=True, exist_ok=True)
    wisdom.path_for(key).write_text("{not json")
    measured = []
    monkeypatch.setattr(tune, "measure", lambda *a, **kw: measured.append(1) or _fake_plan())
    plan, origin = wisdom.obtain(k, np.float64, 1)
    err = capsys.readouterr().err
    assert measured == [1] and origin["source"] == "measured"
    assert plan == _fake_plan() | {"measured_with_additions_per_level":
                                   k.config["additions_per_level"]}
    assert len(err.strip().splitlines()) == 1 and "corrupt plan cache" in err
    plan, origin = wisdom.obtain(k, np.float64, 1)  # now stored: not measured again
    assert measured == [1] and origin["source"] == "cache" and origin["key"] == key


def test_kernel_without_a_plan_never_times_its_first_call(build_dir, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a Kernel without a plan must not measure")

    monkeypatch.setattr(tune, "measure", refuse)
    monkeypatch.setattr(timing.Harness, "call", refuse)
    monkeypatch.setattr(kernel_module, "_told", False)
    k = Kernel(build_dir)
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((256, 256)), rng.standard_normal((256, 256))
    np.testing.assert_allclose(k.matmul(A, B, threads=1), A @ B, rtol=1e-12)
    assert k.levels_for(8192, 8192, 8192, np.float64, 1) == 0  # the safe default: one gemm
    assert k.plan_for(np.float64, 1)["source"] == "default"
    k.matmul(A.astype(np.float32), B.astype(np.float32), threads=2)
    err = capsys.readouterr().err
    assert err.count("python -m bilinear plan") == 1  # printed once


def test_plan_command_measures_stores_and_explains(tmp_path, capsys, plan_cache):
    from bilinear.algebra.formats.project_json import save_scheme
    from bilinear.cli import main

    save_scheme(tmp_path / "s.json", canonical(strassen()))
    args = ["plan", str(tmp_path / "s.json"), "--dtype", "float32", "--threads", "1",
            "--sizes", "16", "32", "--repeats", "1"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "float32, 1 thread(s):" in out.out and "measured and stored in" in out.out
    assert "breadth" in out.out and "depth" in out.out and "N=32" in out.out
    assert len(list(plan_cache.glob("plan-float32-t1-*.json"))) == 1
    assert main(args) == 0
    assert "already stored" in capsys.readouterr().out
