"""Tests for `python -m bilinear verify`: every exit path (0 exact, 1 incorrect, 2 unreadable)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bilinear.algebra.formats.project_json import save_scheme
from bilinear.algebra.schemes import strassen
from bilinear.cli import main
from tests.test_schemes import known_schemes_npz, plain_arrays


@pytest.fixture(scope="module")
def npz() -> str:
    return str(known_schemes_npz())


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(text: str) -> None:
    assert text.count("\n") == 1 and text.endswith("\n")


def test_json_exact(tmp_path, capsys):
    save_scheme(tmp_path / "s.json", strassen())
    code, out, err = run(capsys, str(tmp_path / "s.json"))
    assert code == 0 and err == ""
    assert_one_line(out)
    assert out.startswith("exact:") and "format 2x2x2 rank 7" in out and "JSON" in out


def test_json_incorrect(tmp_path, capsys):
    broken = strassen()
    broken.W[0, 0] = 0
    save_scheme(tmp_path / "s.json", broken)
    code, out, _ = run(capsys, str(tmp_path / "s.json"))
    assert code == 1 and out.startswith("incorrect:") and "rank 7" in out
    assert_one_line(out)


def test_npz_key_exact(capsys, npz):
    code, out, _ = run(capsys, npz, "--key", "3x3x3")
    assert code == 0 and "format 3x3x3 rank 23" in out and "npz" in out


def test_npz_roundtrip_of_our_scheme_and_incorrect(tmp_path, capsys):
    np.savez(tmp_path / "good.npz", **plain_arrays(strassen(), "2x2x2"))
    assert run(capsys, str(tmp_path / "good.npz"), "--key", "2x2x2")[0] == 0
    arrays = plain_arrays(strassen(), "2x2x2")
    arrays["2x2x2_u"][0, 0] += 1
    np.savez(tmp_path / "bad.npz", **arrays)
    code, out, _ = run(capsys, str(tmp_path / "bad.npz"), "--key", "2x2x2")
    assert code == 1 and out.startswith("incorrect:")


@pytest.mark.parametrize("key", [None, "9x9x8", "2x2"])
def test_npz_missing_or_unknown_key_lists_keys(capsys, key, npz):
    code, out, err = run(capsys, npz, *([] if key is None else ["--key", key]))
    assert code == 2 and out == ""
    assert_one_line(err)
    assert err.startswith("error:") and "available keys: 2x2x2, 2x2x3" in err and "3x3x3" in err


JSON_CASES = {
    "not_json": "{not json",
    "not_object": "[1, 2]",
    "missing_w": json.dumps({"format": [2, 2, 2], "U": [[1, 0, 0, 1]], "V": [[1, 0, 0, 1]]}),
    "wrong_shape": json.dumps({"format": [2, 2, 2], "U": [[1, 0, 0]], "V": [[1, 0, 0, 1]],
                               "W": [[1], [0], [0], [1]]}),
    "non_numeric": json.dumps({"format": [2, 2, 2], "U": [["x", 0, 0, 1]], "V": [[1, 0, 0, 1]],
                               "W": [[1], [0], [0], [1]]}),
    "non_finite": json.dumps({"format": [2, 2, 2], "U": [[1e999, 0, 0, 1]],
                              "V": [[1, 0, 0, 1]], "W": [[1], [0], [0], [1]]}),
    "bad_format": json.dumps({"format": [2, 2], "U": [[1]], "V": [[1]], "W": [[1]]}),
    "rank_mismatch": json.dumps({"format": [1, 1, 1], "rank": 2, "U": [[1]], "V": [[1]],
                                 "W": [[1]]}),
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_unreadable_json(tmp_path, capsys, case):
    path = tmp_path / f"{case}.json"
    path.write_text(JSON_CASES[case])
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == ""
    assert_one_line(err)
    assert err.startswith("error:") and path.name in err


def _npz_case(path: Path, case: str) -> None:
    good = plain_arrays(strassen(), "2x2x2")
    if case == "object_array":
        np.savez(path, **{**good, "2x2x2_u": np.array([[1, "a"]] * 4, dtype=object)})
    elif case == "strings":
        np.savez(path, **{**good, "2x2x2_v": good["2x2x2_v"].astype(str)})
    elif case == "wrong_shape":
        np.savez(path, **{**good, "2x2x2_u": good["2x2x2_u"][:, :6]})
    elif case == "three_d":
        np.savez(path, **{**good, "2x2x2_w": good["2x2x2_w"][None]})
    elif case == "nan":
        np.savez(path, **{**good, "2x2x2_w": np.full((4, 7), np.nan)})
    elif case == "complex":
        np.savez(path, **{**good, "2x2x2_u": good["2x2x2_u"] + 1j})
    elif case == "missing_w":
        np.savez(path, **{k: v for k, v in good.items() if not k.endswith("_w")},
                 **{"3x3x3_w": np.zeros((9, 1))})
    elif case == "truncated":
        np.savez(path, **good)
        path.write_bytes(path.read_bytes()[:300])


NPZ_CASES = ["object_array", "strings", "wrong_shape", "three_d", "nan", "complex", "missing_w",
             "truncated"]


@pytest.mark.parametrize("case", NPZ_CASES)
def test_unreadable_npz(tmp_path, capsys, case, monkeypatch):
    path = tmp_path / f"{case}.npz"
    _npz_case(path, case)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("pickle must never be loaded")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    code, out, err = run(capsys, str(path), "--key", "2x2x2")
    assert code == 2 and out == ""
    assert_one_line(err)
    assert err.startswith("error:") and path.name in err
    if case == "object_array":
        assert "allow_pickle" in err


def test_pickle_file_is_never_loaded(tmp_path, capsys):
    path = tmp_path / "scheme.pkl"
    path.write_bytes(pickle.dumps({"format": [2, 2, 2]}))
    code, _, err = run(capsys, str(path))
    assert code == 2 and err.startswith("error:")
    code, _, err = run(capsys, str(path), "--key", "2x2x2")
    assert code == 2 and "--key applies only to npz files" in err


def test_missing_file(tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err
    assert_one_line(err)


def test_module_entry_point(tmp_path, npz):
    save_scheme(tmp_path / "s.json", strassen())
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "bilinear", "verify", str(tmp_path / "s.json")],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("exact:")
    done = subprocess.run([sys.executable, "-m", "bilinear", "verify", npz], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "available keys" in done.stderr
