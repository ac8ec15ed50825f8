"""Explicit, atomic load/save helpers: a crash or Ctrl-C never leaves a half-written file.

Files get the mode a plain write would give them (0666 minus the umask).  Loaders refuse
pickles and turn every way a file can be bad (missing, truncated, not a zip, pickled, wrong keys)
into a :class:`LoadError` whose message is one line naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


class LoadError(ValueError):
    """A data file or checkpoint that cannot be loaded; the message is one line naming the file."""


def _plain_mode() -> int:
    """The mode open() would give a new file: 0666 minus the process umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic(path: str | Path, write: Callable[[str], None]) -> None:
    """Call write(tmp_path) on a temp file beside path, then rename it over path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, _plain_mode())  # mkstemp creates 0600
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cache_dir(*parts: str) -> Path:
    """The project's per-user cache folder (compiled helpers, the kernel's plans), created on
    use: $BILINEAR_CACHE_DIR if set, else $XDG_CACHE_HOME/bilinear, else ~/.cache/bilinear."""
    root = os.environ.get("BILINEAR_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "bilinear")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


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


ZIP_MAGIC = b"PK\x03\x04"


def _check_zip(path: Path, what: str) -> None:
    """Raise LoadError unless path exists and starts like a zip archive (npz and torch files)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        raise LoadError(f"{path}: missing (no such file)") from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if head != ZIP_MAGIC:
        raise LoadError(f"{path}: not a zip archive, so not {what} (empty, random bytes or "
                        "another format)")


def _check_keys(path: Path, found, keys) -> None:
    missing = [k for k in keys or () if k not in found]
    if missing:
        raise LoadError(f"{path}: lacks key(s) {', '.join(missing)} "
                        f"(has {', '.join(sorted(found)) or 'none'})")


def load_npz(path: str | Path, keys: tuple[str, ...] = ()) -> dict:
    """Load every array of an .npz file (pickle refused), checking that `keys` are present."""
    import zipfile
    import zlib

    import numpy as np

    path = Path(path)
    _check_zip(path, "an npz file")
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except ValueError as exc:
        reason = ("holds pickled object arrays (refused)" if "allow_pickle" in str(exc)
                  else f"is damaged ({_first_line(exc)})")
        raise LoadError(f"{path}: {reason}") from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, MemoryError, zipfile.BadZipFile,
            zlib.error) as exc:
        raise LoadError(f"{path}: truncated or damaged npz ({_first_line(exc)})") from None
    _check_keys(path, out, keys)
    return out


def _first_line(exc: BaseException) -> str:
    """The first sentence of an exception's message (library messages can run for lines)."""
    text = str(exc).strip().splitlines()
    return text[0].split(". ")[0][:120] if text else type(exc).__name__


def save_torch(path: str | Path, obj) -> None:
    """torch.save obj atomically; saved through memory, so the bytes do not depend on the
    temporary file's name (torch names the archive after the file)."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_torch(path: str | Path, keys: tuple[str, ...] = ()):
    """torch.load with weights_only=True (tensors, dicts, lists, numbers, strings); a damaged or
    unsafe file, or a dict lacking `keys`, raises LoadError."""
    import pickle

    import torch

    path = Path(path)
    _check_zip(path, "a torch checkpoint")
    try:
        obj = torch.load(path, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise LoadError(f"{path}: holds objects beyond plain tensors and containers, refused "
                        f"({_first_line(exc)})") from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise LoadError(f"{path}: truncated or damaged checkpoint ({_first_line(exc)})") from None
    if keys:
        if not isinstance(obj, dict):
            raise LoadError(f"{path}: holds a {type(obj).__name__}, expected a dict")
        _check_keys(path, obj, keys)
    return obj


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
