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
"""

from __future__ import annotations

from pathlib import Path

from bilinear.algebra.formats import exp, maple, npz, project_json, ternary_json
from bilinear.algebra.formats.reading import Reading
from bilinear.algebra.schemes import SchemeFormatError

__all__ = ["FORMATS", "MAX_BYTES", "SUFFIXES", "WRITERS", "Reading", "read_scheme_file"]

FORMATS = {f.NAME: f for f in (npz, ternary_json, project_json, maple, exp)}  # detection order
WRITERS = {name: f.write for name, f in FORMATS.items() if f.write is not None}
SUFFIXES = {f.SUFFIX: name for name, f in FORMATS.items() if f.SUFFIX is not None}
MAX_BYTES = 64 << 20  # larger files are refused rather than read into memory


def read_scheme_file(path: str | Path, key: str | None = None) -> Reading:
    """Read any supported scheme file, detected by content; SchemeFormatError (one line naming
    the file) when it cannot be read."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SchemeFormatError(f"{path}: larger than {MAX_BYTES >> 20} MiB, refused")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemeFormatError(f"{path}: missing (no such file)") from None
    except OSError as exc:
        raise SchemeFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return _read(path, raw, key)
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
