"""Explicit, atomic load/save helpers: a crash or Ctrl-C never leaves a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _atomic(path: str | Path, write: Callable[[str], None]) -> None:
    """Call write(tmp_path) on a temp file beside path, then rename it over path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to path atomically (UTF-8)."""
    _atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes to path atomically."""
    _atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def write_json(path: str | Path, obj) -> None:
    """Write obj as stable JSON (sorted keys, 2-space indent, trailing newline), atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: str | Path):
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_npz(path: str | Path, **arrays) -> None:
    """Save arrays to an .npz file atomically (no pickled objects)."""
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    _atomic(path, write)


def load_npz(path: str | Path) -> dict:
    """Load every array of an .npz file (pickle refused)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def save_torch(path: str | Path, obj) -> None:
    """torch.save obj atomically; saved through memory, so the bytes do not depend on the
    temporary file's name (torch names the archive after the file)."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_torch(path: str | Path):
    """torch.load with weights_only=True (tensors, dicts, lists, numbers, strings)."""
    import torch

    return torch.load(path, weights_only=True)


def write_csv(path: str | Path, rows: list[dict], columns: list[str] | None = None) -> None:
    """Write a list of dicts as CSV atomically (columns default to the first row's keys)."""
    import csv
    import io

    columns = columns or (list(rows[0]) if rows else [])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
