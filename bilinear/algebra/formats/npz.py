"""Format ``npz``: AlphaTensor's plain layout, u (nm, R), v (mp, R), w (pn, R) per key '2x2x3',
w indexing C transposed; read only (a file holds many schemes: a key picks one)."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from bilinear.algebra.formats.reading import Reading
from bilinear.algebra.schemes import (
    LIMITS,
    MAX_RANK,
    MAX_SIDE,
    Scheme,
    SchemeFormatError,
    check_limits,
)
from bilinear.io import ZIP_MAGIC

NAME = "npz"
SUFFIX = None  # never written
BINARY = True
write = None


def detect(raw: bytes) -> bool:
    """Whether the raw bytes are a zip archive (as every npz is)."""
    return raw.startswith(ZIP_MAGIC)


def read(path: Path, key: str | None) -> Reading:
    """The scheme `key` of an npz file; SchemeFormatError lists the keys when it is missing."""
    keys = npz_keys(path)
    if key is None or key not in keys:
        what = "needs --key" if key is None else f"has no scheme {key!r}"
        order = sorted(keys, key=lambda k: tuple(int(x) if x.isdigit() else 0
                                                 for x in k.split("x")))
        raise SchemeFormatError(f"{what}; available keys: {', '.join(order) or 'none'}")
    return Reading(load_npz_scheme(path, key), NAME)


def npz_keys(path: str | Path) -> list[str]:
    """Format keys ('2x2x3', ...) of an npz file in the shared plain format."""
    with _open_npz(path) as data:
        return sorted({k.rsplit("_", 1)[0] for k in data.files if k.endswith("_u")})


# What a damaged or hostile npz raises: unreadable, not a zip, bad CRC, truncated, needs pickle,
# flagged encrypted or compressed by an unsupported method, or a header claiming a huge array.
_NPZ_ERRORS = (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, MemoryError,
               zipfile.BadZipFile, zlib.error)


def _open_npz(path: str | Path):
    try:
        return np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise SchemeFormatError(f"cannot read {path} as npz: {exc}") from None


def _check_header(data, name: str) -> None:
    """Refuse an array whose header declares more than MAX_SIDE**2 rows or MAX_RANK columns, before
    it is decompressed (a small compressed file can declare gigabytes)."""
    try:
        with data.zip.open(f"{name}.npy") as fh:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape = read(fh)[0]
    except _NPZ_ERRORS as exc:
        raise SchemeFormatError(f"{name}: damaged array header ({exc})"[:160]) from None
    if len(shape) == 2 and (shape[0] > MAX_SIDE**2 or shape[1] > MAX_RANK):
        raise SchemeFormatError(f"{name} has shape {shape}, beyond the limits ({LIMITS})")


def load_npz_scheme(path: str | Path, key: str) -> Scheme:
    """Load one format of an npz in the shared plain (transposed-output) convention.

    The file stores u (nm, R), v (mp, R) and w (pn, R) with w indexing (A B)^T, i.e. w[k*n+i]
    belongs to C[i, k].  This is the one place where that convention is converted.  Arrays that
    would need pickle to load are refused, never loaded.
    """
    try:
        n, m, p = (int(x) for x in key.split("x"))
    except ValueError:
        raise SchemeFormatError(f"key must look like '2x2x3', got {key!r}") from None
    if min(n, m, p) < 1:
        raise SchemeFormatError(f"key {key!r} has a dimension below 1")
    check_limits((n, m, p))
    with _open_npz(path) as data:
        names = [f"{key}_{s}" for s in "uvw"]
        missing = [nm for nm in names if nm not in data.files]
        if missing:
            raise SchemeFormatError(f"{path} has no array(s) {', '.join(missing)}")
        for nm in names:
            _check_header(data, nm)
        try:
            u, v, w = (data[nm] for nm in names)
        except _NPZ_ERRORS as exc:  # object arrays need pickle: refused, never loaded
            raise SchemeFormatError(f"{path}: {exc}") from None
    for name, arr in zip("uvw", (u, v, w), strict=True):
        if arr.dtype.kind not in "iuf":
            raise SchemeFormatError(f"{key}_{name} has non-numeric dtype {arr.dtype}")
        if arr.ndim != 2:
            raise SchemeFormatError(f"{key}_{name} must be 2-D, got shape {arr.shape}")
    for name, arr, rows in (("u", u, n * m), ("v", v, m * p), ("w", w, n * p)):
        if arr.shape != (rows, w.shape[1]):
            raise SchemeFormatError(f"{key}_{name} has shape {arr.shape}, expected "
                                    f"{(rows, w.shape[1])} (rank from {key}_w)")
    rank = w.shape[1]
    W = np.empty((n * p, rank), dtype=w.dtype)
    for i in range(n):
        for k in range(p):
            W[i * p + k] = w[k * n + i]
    return Scheme((n, m, p), u.T, v.T, W, {"source": f"{Path(path).name}:{key}"})
