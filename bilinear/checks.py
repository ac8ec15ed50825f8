"""Validate, then write: the content checks every stage runs on its inputs before it computes
anything, the memory a param asks for against what the machine has, and Outputs, which holds a
stage's files in memory and writes them only once the whole stage has succeeded.

Every check raises InputError (a LoadError, so the stage entry point prints it as one line and
exits 2) naming the file, or ParamError naming the param whose request is too large.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from bilinear.io import LoadError, atomic_write_bytes
from bilinear.params import ParamError

KINDS = {"f": "float", "i": "integer", "u": "unsigned integer", "b": "boolean"}


class InputError(LoadError):
    """An input file whose content is wrong (shape, dtype, non-finite values, format mismatch)
    or a result too degenerate to write; the message is one line naming the file."""


def as_array(value) -> np.ndarray:
    """A numpy view of an array-like (numpy, a CPU torch tensor, nested lists)."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def check_array(where: str, value, ndim: int, kinds: str = "fiu", finite: bool = True,
                min_rows: int = 1) -> np.ndarray:
    """`value` as an array of `ndim` dimensions, dtype kind in `kinds`, at least `min_rows`
    along axis 0 and no zero-length axis, every entry finite; else InputError naming `where`."""
    try:
        arr = as_array(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"{where}: not an array ({type(value).__name__}: {exc})") from None
    if arr.dtype.kind not in kinds:
        want = " or ".join(KINDS[k] for k in kinds)
        raise InputError(f"{where}: holds {arr.dtype} values, expected {want} numbers")
    if arr.ndim != ndim:
        raise InputError(f"{where}: has shape {arr.shape}, expected {ndim} dimension(s)")
    if ndim and (arr.shape[0] < min_rows or 0 in arr.shape):
        raise InputError(f"{where}: has shape {arr.shape}, expected at least {min_rows} row(s) "
                         "and no empty axis")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int(arr.size - np.isfinite(arr).sum())
        raise InputError(f"{where}: {bad} of {arr.size} values are NaN or infinite")
    return arr


def check_pairs(path: str, data: dict, fmt: tuple[int, int, int] | None = None,
                source: str = "") -> tuple[int, int, int]:
    """The format <n,m,p> of an npz of matrix pairs (keys a (N, n*m), b (N, m*p), c (N, n*p),
    equal rows, finite); a given `fmt` (read from the file `source`) must match.  InputError
    naming path otherwise."""
    for key in "abc":
        if key not in data:
            raise InputError(f"{path}: lacks key {key} (has {', '.join(sorted(data)) or 'none'})")
    a, b, c = (check_array(f"{path}[{k}]", data[k], 2) for k in "abc")
    if not a.shape[0] == b.shape[0] == c.shape[0]:
        raise InputError(f"{path}: a, b, c have {a.shape[0]}, {b.shape[0]}, {c.shape[0]} rows, "
                         "expected equal counts")
    found = _format_of(a.shape[1], b.shape[1], c.shape[1])
    if found is None:
        raise InputError(f"{path}: widths {a.shape[1]}, {b.shape[1]}, {c.shape[1]} of a, b, c are "
                         "not n*m, m*p, n*p of any format")
    if fmt is not None and tuple(fmt) != found:
        raise InputError(f"{path}: holds {_fmt(found)} pairs, expected {_fmt(fmt)}{_of(source)}")
    return found


def check_weights(path: str, ckpt: dict, fmt: tuple[int, int, int] | None = None,
                  runs: int | None = None, source: str = "") -> tuple[tuple[int, int, int], int]:
    """(format, slots) of a checkpoint's U (R,S,nm), V (R,S,mp), W (R,np,S): float, finite,
    shapes agreeing with each other, with `fmt` (read from the file `source`) and with its own
    'format' entry if present."""
    U, V, W = (check_array(f"{path}[{k}]", ckpt[k], 3, kinds="f") for k in "UVW")
    R, S = U.shape[:2]
    if V.shape[:2] != (R, S) or W.shape[0] != R or W.shape[2] != S:
        raise InputError(f"{path}: U {U.shape}, V {V.shape}, W {W.shape} do not agree (expected "
                         "U (R,S,nm), V (R,S,mp), W (R,np,S))")
    found = _format_of(U.shape[2], V.shape[2], W.shape[1])
    if found is None:
        raise InputError(f"{path}: U, V, W widths {U.shape[2]}, {V.shape[2]}, {W.shape[1]} are "
                         "not n*m, m*p, n*p of any format")
    declared = ckpt.get("format")
    if declared is not None and _listed(declared) != found:
        raise InputError(f"{path}: declares format {declared!r} but its weights are {_fmt(found)}")
    if fmt is not None and tuple(fmt) != found:
        raise InputError(f"{path}: holds {_fmt(found)} weights, expected {_fmt(fmt)}"
                         f"{_of(source)}")
    if runs is not None and R != runs:
        raise InputError(f"{path}: holds {R} runs, expected {runs}")
    return found, S


def check_entries(where: str, mapping, kinds: dict) -> dict:
    """InputError unless mapping is a dict whose entries {key: type or tuple of types} exist with
    those types (bool is not an int; int is accepted for float)."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where}: holds a {type(mapping).__name__}, expected a mapping")
    for key, kind in kinds.items():
        kinds_ = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds_:
            kinds_ = (*kinds_, int)
        value = mapping.get(key)
        if key not in mapping or isinstance(value, bool) and bool not in kinds_ \
                or not isinstance(value, kinds_):
            raise InputError(f"{where}: entry {key} is {value!r}, expected "
                             f"{' or '.join(k.__name__ for k in kinds_)}")
        if isinstance(value, float) and not np.isfinite(value):
            raise InputError(f"{where}: entry {key} is {value!r}, expected a finite number")
    return mapping


def check_same_format(path: str, found, expected, other: str) -> None:
    """InputError unless the format read from path equals the one of `other`."""
    if tuple(found) != tuple(expected):
        raise InputError(f"{path}: is {_fmt(found)} but {other} is {_fmt(expected)} (files "
                         "from different formats)")


def check_result_scheme(scheme, what: str) -> None:
    """InputError if a crystallized scheme is degenerate (no products or no nonzero)."""
    if scheme.rank == 0 or scheme.nonzeros() == 0:
        raise InputError(f"{what}: the crystallization produced a degenerate scheme "
                         f"({scheme.rank} products, {scheme.nonzeros()} nonzeros); not written")


def _listed(value) -> tuple | None:
    try:
        return tuple(int(x) for x in value)
    except (TypeError, ValueError):
        return None


def _format_of(nm: int, mp: int, npo: int) -> tuple[int, int, int] | None:
    """<n,m,p> with n*m, m*p, n*p the given widths, or None."""
    for n in range(1, max(nm, npo) + 1):
        if nm % n == 0 and npo % n == 0:
            m, p = nm // n, npo // n
            if m * p == mp:
                return n, m, p
    return None


def _of(source: str) -> str:
    return f" (the format of {source})" if source else ""


def _fmt(fmt) -> str:
    return "x".join(str(d) for d in fmt)


# --- memory ---------------------------------------------------------------------------------

def available_memory() -> int:
    """Bytes this process may still allocate: MemAvailable of /proc/meminfo, else physical."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def require_memory(param: str, nbytes: float, what: str) -> None:
    """ParamError naming `param` when `what` needs more than the machine's available memory."""
    have = available_memory()
    if nbytes > have:
        raise ParamError(f"{param}: {what} needs about {_size(nbytes)}, more than the "
                         f"{_size(have)} of memory available")


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"


# --- outputs written together -----------------------------------------------------------------

class Outputs:
    """A stage's output files, rendered in memory as the stage runs and written by commit()
    only once it has all succeeded: a failing stage replaces none of its outputs.  Each file
    is written atomically; a value that cannot be written (NaN in JSON) fails when added."""

    def __init__(self) -> None:
        self.files: dict[Path, bytes] = {}

    def add_bytes(self, path: str | Path, data: bytes) -> None:
        """Hold bytes for path."""
        self.files[Path(path)] = bytes(data)

    def add_text(self, path: str | Path, text: str) -> None:
        """Hold UTF-8 text for path."""
        self.add_bytes(path, text.encode("utf-8"))

    def add_json(self, path: str | Path, obj, what: str = "") -> None:
        """Hold obj as stable JSON (as bilinear.io.write_json); non-finite numbers -> InputError."""
        try:
            text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
        except ValueError:
            raise InputError(f"{path}: {what or 'the results'} hold NaN or infinite values "
                             "(degenerate or non-finite input); not written") from None
        self.add_text(path, text)

    def add_csv(self, path: str | Path, rows: list[dict], columns: list[str] | None = None) -> None:
        """Hold rows as CSV (as bilinear.io.write_csv)."""
        import csv
        import io

        columns = columns or (list(rows[0]) if rows else [])
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        self.add_text(path, buf.getvalue())

    def add_torch(self, path: str | Path, obj) -> None:
        """Hold obj serialized by torch.save (through memory, as bilinear.io.save_torch)."""
        import io

        import torch

        buf = io.BytesIO()
        torch.save(obj, buf)
        self.add_bytes(path, buf.getvalue())

    def add_npz(self, path: str | Path, **arrays) -> None:
        """Hold arrays as an uncompressed .npz (as bilinear.io.save_npz)."""
        import io

        buf = io.BytesIO()
        np.savez(buf, **arrays)
        self.add_bytes(path, buf.getvalue())

    def commit(self) -> list[Path]:
        """Write every held file atomically, in the order added; returns their paths."""
        for path, data in self.files.items():
            atomic_write_bytes(path, data)
        return list(self.files)
