"""The command line's fuzz campaign: every case (tests/fuzz_cases.py) ends with an allowed exit
code, a refusal is one line on stderr starting "error:", no traceback, within 10 s, no file that
existed before is changed and nothing but the case's declared outputs is created.  Most cases run
in-process; a sample of every category runs as a real `python -m bilinear` under a 2 GB address
space limit.  Every stage module takes --help and refuses other arguments the same way."""

from __future__ import annotations

import hashlib
import importlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bilinear.cli import main
from bilinear.stage import command_line
from tests.fuzz_cases import all_cases
from tests.project_copy import ROOT

CASES = all_cases()
CATEGORIES = sorted({c.category for c in CASES})
SECONDS = 10
MEMORY = 2 << 30
STAGES = sorted(p.stem for p in (ROOT / "stages").glob("*.py") if p.stem != "__init__")
TAKES_ARGUMENT = {"discover", "sweep"}


def _snapshot(root: Path) -> dict[str, str | None]:
    """Every path under root: a regular file's hash, None for anything else."""
    out = {}
    for path in root.rglob("*"):
        rel = str(path.relative_to(root))
        is_file = path.is_file() and not path.is_symlink()
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if is_file else None
    return out


def _check(case, code, out: str, err: str, before: dict, after: dict) -> None:
    assert code in case.codes, (code, out[-300:], err[-300:])
    assert "Traceback" not in out + err, err[-2000:]
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("error:"), err[-600:]
    assert {k: after.get(k) for k in before} == before, "a file that existed was changed"
    assert set(after) - set(before) <= set(case.creates) if code == 0 else set(after) == set(
        before), sorted(set(after) - set(before))


@pytest.fixture
def deadline():
    """Fail a case still running after SECONDS."""
    def expire(signum, frame):
        raise TimeoutError(f"case still running after {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}-{c.name}" for c in CASES])
def test_case_in_process(case, tmp_path, capsys, monkeypatch, deadline):
    monkeypatch.chdir(tmp_path)
    argv = case.build(tmp_path)
    before = _snapshot(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    _check(case, code, out, err, before, _snapshot(tmp_path))


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=SECONDS, preexec_fn=_limit_memory)


def _sample(per_category: int = 2) -> list:
    """Cases spread evenly over each category."""
    out = []
    for cat in CATEGORIES:
        cases = [c for c in CASES if c.category == cat]
        out += cases[:: max(1, len(cases) // per_category)][:per_category]
    return out


SAMPLE = _sample()


@pytest.mark.parametrize("case", SAMPLE, ids=[f"{c.category}-{c.name}" for c in SAMPLE])
def test_case_in_a_subprocess(case, tmp_path):
    argv = case.build(tmp_path)
    before = _snapshot(tmp_path)
    done = _run(["-m", "bilinear", *argv], tmp_path)
    _check(case, done.returncode, done.stdout, done.stderr, before, _snapshot(tmp_path))


def test_campaign_covers_every_category_and_format():
    from bilinear.algebra.formats import FORMATS

    names = {c.name for c in CASES if c.category == "mutation"}
    assert all(any(n.startswith(f"{fmt}-") for n in names) for fmt in FORMATS)
    assert set(CATEGORIES) == {"arguments", "hostile", "mutation", "output", "random", "special"}
    assert len(CASES) + 3 * len(STAGES) >= 250


@pytest.mark.parametrize("argv", [["--help"], ["--bogus"], ["x", "--y"]],
                         ids=["help", "option", "arguments"])
@pytest.mark.parametrize("name", STAGES)
def test_stage_command_line(name, argv, capsys):
    module = importlib.import_module(f"stages.{name}")
    assert hasattr(module.main, "__wrapped__"), f"stages.{name}.main lacks @stage_main"
    code = command_line(module, name in TAKES_ARGUMENT, argv)
    out, err = capsys.readouterr()
    if argv == ["--help"]:
        assert code == 0 and err == "" and "Reads:" in out and "Writes:" in out
    else:
        assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error:")


@pytest.mark.parametrize("name, argv", [("train", ["--bogus"]), ("discover", ["--help"]),
                                        ("report", ["extra"])])
def test_stage_in_a_subprocess(tmp_path, name, argv):
    done = _run(["-m", f"stages.{name}", *argv], tmp_path)
    assert done.returncode == (0 if argv == ["--help"] else 2), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []
    assert done.stderr.count("\n") == (0 if argv == ["--help"] else 1)
