"""Scheme file formats, one module each, in one registry FORMATS (name -> module), read by
content and converted to the project's convention (see bilinear.algebra.schemes):

- npz: AlphaTensor's plain layout, read only (a key picks the scheme);
- ternary_json: the ternary flip-graph collection's JSON;
- project_json: the project's own scheme file (``json``);
- maple: the FMM catalogue's Maple TriadSet;
- exp: flip-graph ``.exp`` products;
- reading: Reading, what every reader returns.

Every format module defines NAME, SUFFIX (the file suffix it is written to, or None), BINARY
(detect sees raw bytes, else the stripped text), detect, read (binary: path and key; text: the
stripped text) and write (scheme -> text, or None if never written).  FORMATS is in detection
order: a new format is one module plus one line.

Only regular files of at most MAX_BYTES are read; the declared format, rank and coefficients
must be within bilinear.algebra.schemes.LIMITS (checked before anything of that size is
allocated); a file of PROGRESS_BYTES or more shows its progress on stderr when that is a terminal.
"""

from __future__ import annotations

from pathlib import Path

from bilinear.algebra.formats import exp, maple, npz, project_json, ternary_json
from bilinear.algebra.formats.reading import PROGRESS_BYTES, Reading, progress_bar
from bilinear.algebra.schemes import SchemeFormatError, check_limits, check_work
from bilinear.io import MAX_READ_BYTES, LoadError, read_regular_bytes

__all__ = ["FORMATS", "MAX_BYTES", "PROGRESS_BYTES", "SUFFIXES", "WRITERS", "Reading",
           "read_scheme_file"]

FORMATS = {f.NAME: f for f in (npz, ternary_json, project_json, maple, exp)}  # detection order
WRITERS = {name: f.write for name, f in FORMATS.items() if f.write is not None}
SUFFIXES = {f.SUFFIX: name for name, f in FORMATS.items() if f.SUFFIX is not None}
MAX_BYTES = MAX_READ_BYTES  # larger files are refused rather than read into memory


def read_scheme_file(path: str | Path, key: str | None = None) -> Reading:
    """Read any supported scheme file, detected by content; SchemeFormatError (one line naming
    the file) when it cannot be read or is beyond the limits."""
    path = Path(path)
    try:
        with progress_bar(f"reading {path.name}", path) as bar:
            raw = read_regular_bytes(path, MAX_BYTES, bar)
    except LoadError as exc:
        raise SchemeFormatError(str(exc)) from None
    try:
        reading = _read(path, raw, key)
        check_limits(reading.scheme.fmt, reading.scheme.rank)
        check_work(reading.scheme)
        return reading
    except SchemeFormatError as exc:
        if str(path) in str(exc):
            raise
        raise SchemeFormatError(f"{path}: {exc}") from None


def _read(path: Path, raw: bytes, key: str | None) -> Reading:
    for fmt in FORMATS.values():
        if fmt.BINARY and fmt.detect(raw):
            return fmt.read(path, key)
    if key is not None:
        raise SchemeFormatError("not an npz file; --key applies only to npz files")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SchemeFormatError("binary content that is neither an npz nor a text scheme "
                                "format") from None
    stripped = text.strip()
    for fmt in FORMATS.values():
        if not fmt.BINARY and fmt.detect(stripped):
            reading = fmt.read(stripped)
            reading.scheme.provenance = {"source": path.name, "file_format": reading.format,
                                         **reading.scheme.provenance}
            return reading
    raise SchemeFormatError("not a recognised scheme format (expected .exp products, ternary or "
                            "project JSON, a Maple TriadSet, or an npz)")
