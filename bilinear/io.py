"""Explicit, atomic load/save helpers: a crash or Ctrl-C never leaves a half-written file.

A new file gets the mode a plain write would give it (0666 minus the umask); a rewrite keeps the
mode of the file it replaces.  Loaders read regular files only (devices, FIFOs and folders are
refused before any read), refuse pickles and turn every way a file can be bad (missing,
truncated, not a zip, pickled, wrong keys, wrong shapes) into a :class:`LoadError` whose message
is one line naming the file.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


class LoadError(ValueError):
    """A data file or checkpoint that cannot be loaded; the message is one line naming the file."""


class OutputError(ValueError):
    """An output path that cannot be written (a folder, under a file, an unwritable place); the
    message is one line naming it."""


def check_writable(path: str | Path) -> None:
    """Raise OutputError unless a file can be written at path: not a folder, and a file can be
    made in its nearest existing folder (probed with a temporary file, removed at once)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, cannot be written as a file")
    folder = path.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: lies under {folder}, which is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".bl_probe_", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def _plain_mode() -> int:
    """The mode open() would give a new file: 0666 minus the process umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _target_mode(path: Path) -> int:
    """The mode a write of path ends with: that of the regular file it replaces, else the plain
    write mode."""
    try:
        st = path.stat()
    except OSError:
        return _plain_mode()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a directory", str(path))
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else _plain_mode()


def _atomic(path: str | Path, write: Callable[[str], None]) -> None:
    """Call write(tmp_path) on a temp file beside path, then rename it over path."""
    path = Path(path)
    mode = _target_mode(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, mode)  # mkstemp creates 0600
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


MAX_READ_BYTES = 64 << 20  # text files larger than this are refused rather than read into memory


def _open_regular(path: Path) -> int:
    """A read-only descriptor of path, refused (LoadError) unless it is a regular file: opened
    non-blocking, so a FIFO or a device cannot hang the open, then checked with fstat."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise LoadError(f"{path}: missing (no such file)") from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    kind = os.fstat(fd).st_mode
    if not stat.S_ISREG(kind):
        os.close(fd)
        what = ("a folder" if stat.S_ISDIR(kind) else "a FIFO" if stat.S_ISFIFO(kind)
                else "a device" if stat.S_ISCHR(kind) or stat.S_ISBLK(kind) else "a socket")
        raise LoadError(f"{path}: is {what}, not a regular file (refused)")
    os.set_blocking(fd, True)
    return fd


def read_regular_bytes(path: str | Path, max_bytes: int = MAX_READ_BYTES,
                       progress: Callable[[int, int], None] | None = None) -> bytes:
    """The bytes of path, a regular file of at most max_bytes (LoadError otherwise, before any
    read); progress(done, total) is called after each MiB read."""
    path = Path(path)
    fd = _open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise LoadError(f"{path}: larger than {max_bytes >> 20} MiB ({size >> 20} MiB), "
                            "refused")
        chunks, done = [], 0
        while done <= max_bytes:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, size)
        if done > max_bytes:  # the file grew while read
            raise LoadError(f"{path}: larger than {max_bytes >> 20} MiB, refused")
        return b"".join(chunks)
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _check_zip(path: Path, what: str) -> None:
    """Raise LoadError unless path is a regular file that starts like a zip archive (npz and
    torch files)."""
    fd = _open_regular(path)
    try:
        head = os.read(fd, 4)
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
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
