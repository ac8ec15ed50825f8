"""One test per measured failure of the command line and the readers under bad input: special
files, numbers past Python's digit limit, degenerate and oversized declarations, linear-time
readers, unwritable outputs, the compile folder, file modes, stage arguments and YAML floats."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bilinear.algebra.formats import WRITERS, maple, read_scheme_file
from bilinear.algebra.formats import exp as exp_format
from bilinear.algebra.formats.project_json import save_scheme
from bilinear.algebra.schemes import MAX_RANK, SchemeFormatError, strassen
from bilinear.checks import check_array
from bilinear.cli import main
from bilinear.io import LoadError, write_json
from tests.project_copy import ROOT

BIG = "9" * 4301  # one digit past Python's int conversion limit


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, *words: str) -> None:
    assert code == 2 and err.count("\n") == 1 and err.startswith("error:"), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


# --- special files are refused before any read ---------------------------------------------

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_device_refused(capsys, device):
    assert_refused(*run(capsys, "verify", device)[::2], "device, not a regular file")


def test_fifo_refused_without_hanging(tmp_path, capsys):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    assert_refused(*run(capsys, "info", str(fifo))[::2], "FIFO")


def test_directory_refused(tmp_path, capsys):
    assert_refused(*run(capsys, "verify", str(tmp_path))[::2], "folder")


# --- numbers past Python's 4300-digit limit --------------------------------------------------

@pytest.mark.parametrize("fmt, text", [
    ("json", '{"format": [1, 1, 1], "U": [[' + BIG + ']], "V": [[1]], "W": [[1]]}'),
    ("exp", f"({BIG}*a11)*(b11)*(c11)\n"),
    ("maple", f"Tensor := TriadSet([Triad([Matrix(1, 1, [[{BIG}]]), Matrix(1, 1, [[1]]), "
              "Matrix(1, 1, [[1]])])]);\n"),
    ("ternary", '{"n": [1, 1, 1], "u": [[' + BIG + ']], "v": [[1]], "w": [[1]]}'),
])
def test_number_of_more_than_4300_digits(tmp_path, capsys, fmt, text):
    path = tmp_path / f"big.{fmt}"
    path.write_text(text)
    assert_refused(*run(capsys, "verify", str(path))[::2], "4300 digits")


def test_exp_arithmetic_cannot_grow_past_the_limit(tmp_path, capsys):
    path = tmp_path / "grow.exp"
    path.write_text("(" + "*".join(["99999999999"] * 2000) + "*a11)*(b11)*(c11)\n")
    assert_refused(*run(capsys, "verify", str(path))[::2], "4300 digits")


# --- degenerate and oversized declarations ---------------------------------------------------

def test_maple_empty_matrix(tmp_path, capsys):
    path = tmp_path / "empty.mpl"
    path.write_text("Tensor := TriadSet([Triad([Matrix(0, 0, []), Matrix(0, 0, []), "
                    "Matrix(0, 0, [])])]);\n")
    assert_refused(*run(capsys, "verify", str(path))[::2], "Matrix(0, 0")


@pytest.mark.parametrize("text", ['{"format": [2, 2, 2], "U": [], "V": [], "W": []}',
                                  "Tensor := TriadSet([]);", "# only a comment\n"])
def test_zero_rank_scheme(tmp_path, capsys, text):
    path = tmp_path / "zero.txt"
    path.write_text(text)
    assert_refused(*run(capsys, "verify", str(path))[::2])


def _maple_40() -> str:
    mat = "Matrix(40, 40, [" + ",".join("[" + ",".join("0" * 40) + "]" for _ in range(40)) + "])"
    return f"Tensor := TriadSet([Triad([{mat}, {mat}, {mat}])]);\n"


@pytest.mark.parametrize("fmt", ["maple", "json", "ternary"])
def test_small_file_declaring_40x40x40(tmp_path, capsys, fmt):
    text = {"maple": _maple_40(),
            "json": '{"format": [40, 40, 40], "U": [[1]], "V": [[1]], "W": [[1]]}',
            "ternary": '{"n": [40, 40, 40], "u": [[1]], "v": [[1]], "w": [[1]]}'}[fmt]
    path = tmp_path / "big.txt"
    path.write_text(text)
    assert path.stat().st_size < 20_000
    assert_refused(*run(capsys, "info", str(path))[::2], "beyond the limits", "at most 16")


def test_limits_in_info_help(capsys):
    code, out, _ = run(capsys, "info", "--help")
    assert code == 0 and "n*m*p at most 2048" in " ".join(out.split())


# --- text readers run in linear time ---------------------------------------------------------

def _read_quietly(read, text: str) -> None:
    try:
        read(text)
    except SchemeFormatError:
        pass


def _calls(read, text: str) -> int:
    """Python and C function calls made while reading text (deterministic)."""
    count = 0

    def tally(frame, event, arg):
        nonlocal count
        count += event in ("call", "c_call")

    sys.setprofile(tally)
    try:
        _read_quietly(read, text)
    finally:
        sys.setprofile(None)
    return count


def _seconds(read, text: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        _read_quietly(read, text)
        best = min(best, time.perf_counter() - start)
    return best


def _texts(fmt: str) -> list[str]:
    """A text of the format and one ten times as large."""
    if fmt == "maple-unclosed":  # the pattern that made the former reader quadratic
        return ["Tensor := TriadSet([Triad([" + "Matrix(1, 1, [[1]]" * k for k in (10**4, 10**5)]
    small = strassen()
    texts = []
    for k in (5, 50):
        big = type(small)(small.fmt, np.tile(small.U, (k, 1)), np.tile(small.V, (k, 1)),
                          np.tile(small.W, (1, k)))
        texts.append(WRITERS[fmt](big).strip())
    return texts


def _reader(fmt: str):
    from bilinear.algebra.formats import FORMATS

    return FORMATS[fmt.removesuffix("-unclosed")].read


@pytest.mark.parametrize("fmt", ["maple", "maple-unclosed", "exp", "json", "ternary-json"])
def test_text_reader_is_linear(fmt):
    """Ten times the input makes at most fifteen times the function calls (ranks 35 and 350)."""
    texts = _texts(fmt)
    ratio = _calls(_reader(fmt), texts[1]) / _calls(_reader(fmt), texts[0])
    assert ratio < 15, ratio


def test_unclosed_maple_matrices_take_linear_time():
    """The former reader's regular expression rescanned the rest of the file from every unclosed
    Matrix( (10x the input: ~90x the time); scanning happens inside C, so this one is timed."""
    texts = _texts("maple-unclosed")
    ratio = _seconds(_reader("maple"), texts[1]) / _seconds(_reader("maple"), texts[0])
    assert ratio < 15, ratio


def test_long_exp_stops_at_the_rank_limit(tmp_path, capsys, monkeypatch):
    calls = []
    original = exp_format._ExpParser.parse
    monkeypatch.setattr(exp_format._ExpParser, "parse",
                        lambda self: calls.append(1) or original(self))
    path = tmp_path / "long.exp"
    path.write_text("(a11)*(b11)*(c11)\n" * 100_000)
    assert_refused(*run(capsys, "verify", str(path))[::2], f"rank {MAX_RANK + 1}")
    assert len(calls) == MAX_RANK + 1


def test_large_input_shows_progress(tmp_path, monkeypatch):
    from bilinear.algebra.formats import reading

    path = tmp_path / "large.exp"
    path.write_text("# padding\n" * 200_000 + "(a11)*(b11)*(c11)\n")
    monkeypatch.setattr(reading, "PROGRESS_BYTES", 1 << 20)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert read_scheme_file(path).scheme.rank == 1
    assert "reading large.exp" in sys.stderr.getvalue()


# --- unwritable outputs: one line, exit 2 ----------------------------------------------------

def _unwritable(tmp_path: Path, where: str) -> str:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    return {"directory": str(tmp_path / "dir"), "under_file": str(tmp_path / "file" / "out"),
            "proc": "/proc/bilinear_out", "sys": "/sys/bilinear_out"}[where]


@pytest.mark.parametrize("where", ["directory", "under_file", "proc", "sys"])
def test_convert_unwritable_output(tmp_path, capsys, where):
    save_scheme(tmp_path / "s.json", strassen())
    code, out, err = run(capsys, "convert", str(tmp_path / "s.json"),
                         _unwritable(tmp_path, where), "--to", "exp")
    assert_refused(code, err)
    assert (tmp_path / "file").read_text() == "x" and not any((tmp_path / "dir").iterdir())


@pytest.mark.parametrize("where", ["under_file", "proc", "sys"])
def test_compile_unwritable_output(tmp_path, capsys, where):
    save_scheme(tmp_path / "s.json", strassen())
    code, _, err = run(capsys, "compile", str(tmp_path / "s.json"), "--out",
                       _unwritable(tmp_path, where))
    assert_refused(code, err, "cannot build into")


# --- compile never deletes what it did not create -------------------------------------------

def test_compile_refuses_a_foreign_folder(tmp_path, capsys):
    save_scheme(tmp_path / "s.json", strassen())
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    code, _, err = run(capsys, "compile", str(tmp_path / "s.json"), "--out", str(out))
    assert_refused(code, err, "nothing deleted")
    assert (out / "thesis.tex").read_text() == "years of work"


def test_compile_out_dot_refused_in_a_checkout(tmp_path, capsys, monkeypatch):
    (tmp_path / "README.md").write_text("a checkout")
    save_scheme(tmp_path / "s.json", strassen())
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "compile", "s.json", "--out", ".")
    assert_refused(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "s.json"]


def test_compile_replaces_a_previous_build_and_nothing_else(tmp_path, capsys):
    save_scheme(tmp_path / "s.json", strassen())
    out = tmp_path / "build"
    assert run(capsys, "compile", str(tmp_path / "s.json"), "--out", str(out))[0] == 0
    first = sorted(p.name for p in out.iterdir())
    assert "config.json" in first and "kernel.c" in first
    assert run(capsys, "compile", str(tmp_path / "s.json"), "--out", str(out))[0] == 0
    assert sorted(p.name for p in out.iterdir()) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "s.json"]  # no leftovers
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "compile", str(tmp_path / "s.json"), "--out", str(out))
    assert_refused(code, err, "no kernel build made")
    assert (out / "notes.txt").read_text() == "mine"


# --- a rewrite keeps the mode of the file it replaces ---------------------------------------

def test_rewrite_keeps_mode(tmp_path, capsys):
    path = tmp_path / "secret.json"
    write_json(path, {"a": 1})
    path.chmod(0o600)
    write_json(path, {"a": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    save_scheme(tmp_path / "s.json", strassen())
    target = tmp_path / "s.exp"
    target.write_text("old")
    target.chmod(0o640)
    assert run(capsys, "convert", str(tmp_path / "s.json"), str(target))[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and "a11" in target.read_text()


# --- arrays: shape, dtype and finiteness -----------------------------------------------------

@pytest.mark.parametrize("arr, words", [
    (np.zeros((3, 4)), None), (np.array(["a", "b"]), "holds <U1 values"),
    (np.zeros((0, 4)), "at least 1 row"), (np.array([[np.nan, 0, 0, 0]]), "NaN or infinite"),
    (np.zeros((2, 2, 4)), "expected 2 dimension")])
def test_check_array(arr, words):
    if words is None:
        assert check_array("x.npz: a", arr, ndim=2) is arr
        return
    with pytest.raises(LoadError) as info:
        check_array("x.npz: a", arr, ndim=2)
    assert words in str(info.value) and str(info.value).startswith("x.npz: a:")


def test_check_array_accepts_tensors():
    import torch

    with pytest.raises(LoadError, match="NaN or infinite"):
        check_array("m.pt: U", torch.full((1, 7, 4), float("nan")), ndim=3)


# --- stages: --help reads nothing and writes nothing; other arguments are refused -----------

def _stage(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", f"stages.{name}", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["train", "bench"])
def test_stage_help_does_not_run(tmp_path, name):
    done = _stage(tmp_path, name, "--help")
    assert done.returncode == 0 and done.stdout.startswith(f"Stage `{name}`")
    assert "Reads:" in done.stdout and "Writes:" in done.stdout and done.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_stage_refuses_other_arguments(tmp_path):
    done = _stage(tmp_path, "train", "--epochs", "3")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "takes no arguments" in done.stderr and list(tmp_path.iterdir()) == []


def test_yaml_float_without_a_dot(tmp_path):
    from bilinear.params import LR, read_sections

    (tmp_path / "params.yaml").write_text("train:\n  lr: 1e-3\n")
    assert read_sections({"train": {"lr": LR}}, tmp_path / "params.yaml")["train"]["lr"] == 1e-3


def test_maple_module_reads_in_one_pass():
    """The Maple reader has no pattern that can scan past a matrix's end (no lazy .*?)."""
    assert ".*?" not in Path(maple.__file__).read_text()


def test_scheme_format_error_is_one_line(tmp_path):
    path = tmp_path / "x.exp"
    path.write_text("(a11)*(b11)*(c1\n")
    with pytest.raises(SchemeFormatError) as info:
        read_scheme_file(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_large_coefficients_at_a_large_format_are_refused_before_verifying(tmp_path, capsys):
    """Exact verification past float64 would take about a minute here: refused at once."""
    from bilinear.algebra.schemes import Scheme

    rng = np.random.default_rng(0)
    n = 8
    scheme = Scheme((n, n, n), rng.integers(-2**20, 2**20, (512, n * n)),
                    rng.integers(-2**20, 2**20, (512, n * n)),
                    rng.integers(-2**20, 2**20, (n * n, 512)))
    save_scheme(tmp_path / "big.json", scheme)
    assert_refused(*run(capsys, "verify", str(tmp_path / "big.json"))[::2],
                   "big-integer operations")


def test_npz_header_declaring_a_huge_array_is_refused_before_decompression(tmp_path, capsys):
    from tests.test_schemes import plain_arrays

    arrays = {**plain_arrays(strassen(), "2x2x2"), "2x2x2_u": np.zeros((4, 5_000_000))}
    np.savez_compressed(tmp_path / "bomb.npz", **arrays)  # 160 MB of zeros in a small file
    assert (tmp_path / "bomb.npz").stat().st_size < 1 << 20
    assert_refused(*run(capsys, "verify", str(tmp_path / "bomb.npz"), "--key", "2x2x2")[::2],
                   "beyond the limits")
