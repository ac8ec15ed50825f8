"""bilinear.io: written files get 0666 minus the umask; loaders fail with one line naming the
file and never unpickle."""

from __future__ import annotations

import os
import pickle
import stat

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bilinear.io import LoadError, load_npz, load_torch, save_npz, save_torch, write_csv, write_json

WRITERS = {
    "json": lambda p: write_json(p, {"a": 1}),
    "csv": lambda p: write_csv(p, [{"x": 1}]),
    "npz": lambda p: save_npz(p, a=np.zeros(2)),
    "pt": lambda p: save_torch(p, {"a": torch.zeros(2)}),
}


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_mode_is_plain_write_mode(tmp_path, kind, umask):
    old = os.umask(umask)
    try:
        path = tmp_path / f"out.{kind}"
        WRITERS[kind](path)
        plain = tmp_path / "plain"
        plain.write_text("x")
        expected = stat.S_IMODE(plain.stat().st_mode)
    finally:
        os.umask(old)
    assert expected == 0o666 & ~umask
    assert stat.S_IMODE(path.stat().st_mode) == expected
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def _cases(tmp_path):
    good = tmp_path / "good.npz"
    save_npz(good, a=np.zeros(3))
    raw = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(len(raw)))
    (tmp_path / "empty.npz").write_bytes(b"")
    np.savez(tmp_path / "pickled.npz", a=np.array([{"x": 1}], dtype=object))


@pytest.mark.parametrize("name, words", [("missing", "missing"), ("truncated", "truncated"),
                                         ("random", "not a zip"), ("empty", "not a zip"),
                                         ("pickled", "pickled")])
def test_load_npz_errors(tmp_path, monkeypatch, name, words):
    _cases(tmp_path)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(LoadError) as info:
        load_npz(tmp_path / f"{name}.npz")
    message = str(info.value)
    assert "\n" not in message and f"{name}.npz" in message and words in message


def test_load_npz_wrong_keys(tmp_path):
    save_npz(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(LoadError, match=r"x.npz: lacks key\(s\) b \(has a\)"):
        load_npz(tmp_path / "x.npz", keys=("a", "b"))


class Payload:
    """An object that torch can only save by pickling its class."""


def test_load_torch_errors(tmp_path):
    torch.save({"p": Payload()}, tmp_path / "obj.pt")
    with pytest.raises(LoadError, match="obj.pt: holds objects beyond plain tensors"):
        load_torch(tmp_path / "obj.pt")
    save_torch(tmp_path / "ok.pt", {"U": torch.zeros(1)})
    raw = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[:-40])
    with pytest.raises(LoadError, match="cut.pt: truncated or damaged checkpoint") as info:
        load_torch(tmp_path / "cut.pt")
    assert "\n" not in str(info.value)
    with pytest.raises(LoadError, match=r"ok.pt: lacks key\(s\) V"):
        load_torch(tmp_path / "ok.pt", keys=("U", "V"))
    assert set(load_torch(tmp_path / "ok.pt", keys=("U",))) == {"U"}


def _seeds() -> dict:
    import io

    npz, pt = io.BytesIO(), io.BytesIO()
    np.savez(npz, a=np.zeros(3))
    torch.save({"U": torch.zeros(2)}, pt)
    return {"npz": npz.getvalue(), "pt": pt.getvalue()}


SEEDS = _seeds()


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["npz", "pt"]), cut=st.integers(0, 1 << 16),
       pos=st.integers(0, 1 << 16), junk=st.binary(min_size=1, max_size=8))
def test_mutated_files_load_or_fail_with_one_line(tmp_path, kind, cut, pos, junk):
    raw = SEEDS[kind]
    raw = raw[: cut % (len(raw) + 1)] if cut % 2 else raw
    at = pos % (len(raw) + 1)
    path = tmp_path / f"fuzz.{kind}"
    path.write_bytes(raw[:at] + junk + raw[at + len(junk):])
    load = load_npz if kind == "npz" else load_torch
    try:
        load(path)
    except LoadError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
