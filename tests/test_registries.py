"""The registries where the project grows: every crystallization method module is in METHODS and
every scheme file format module in FORMATS, each entry complete and working."""

from __future__ import annotations

import pkgutil

import pytest

import bilinear.algebra.formats as formats_pkg
import bilinear.learn.methods as methods_pkg
from bilinear.algebra.formats import FORMATS, SUFFIXES, WRITERS, read_scheme_file
from bilinear.algebra.schemes import strassen, verify
from bilinear.learn.methods import METHODS, SOLVED, discretize

NOT_FORMATS = {"reading"}  # what every reader returns, not a format


def _modules(package) -> set[str]:
    return {m.name for m in pkgutil.iter_modules(package.__path__)}


def test_every_method_module_is_registered_under_its_name():
    assert set(METHODS) == _modules(methods_pkg)
    for name, crystallize in METHODS.items():
        assert crystallize.__module__ == f"bilinear.learn.methods.{name}"
        assert crystallize.__name__ == "crystallize" and crystallize.__doc__


@pytest.mark.parametrize("method", SOLVED)
def test_every_solved_method_crystallizes_strassen_under_its_name(method):
    crystal = discretize((2, 2, 2), *strassen().as_float(), method)
    assert (crystal.method, crystal.exact) == (method, True)


def test_every_format_module_is_registered_under_its_name():
    assert {f.__name__.rsplit(".", 1)[1] for f in FORMATS.values()} == \
        _modules(formats_pkg) - NOT_FORMATS
    for name, fmt in FORMATS.items():
        assert fmt.NAME == name


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_entry_has_detect_read_write_suffix(name):
    fmt = FORMATS[name]
    assert callable(fmt.detect) and fmt.detect.__doc__
    assert callable(fmt.read) and fmt.read.__doc__
    assert fmt.write is None or callable(fmt.write)
    assert fmt.SUFFIX is None or (fmt.SUFFIX.startswith(".") and SUFFIXES[fmt.SUFFIX] == name)
    assert isinstance(fmt.BINARY, bool)
    assert (name in WRITERS) == (fmt.write is not None)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_written_format_is_read_back_as_itself(tmp_path, name):
    path = tmp_path / f"s{FORMATS[name].SUFFIX or '.txt'}"
    path.write_text(WRITERS[name](strassen()))
    reading = read_scheme_file(path)
    assert reading.format == name
    assert verify(reading.scheme) and reading.scheme.rank == 7
