"""Format ``json``: the project's own scheme file (canonical JSON, exact rationals, provenance),
read by content and written canonically."""

from __future__ import annotations

import json
from pathlib import Path

from bilinear.algebra.formats.reading import Reading
from bilinear.algebra.schemes import (
    MAX_DIGITS,
    Scheme,
    SchemeFormatError,
    canonical,
    check_limits,
    check_work,
    encode_fraction,
)

NAME = "json"
SUFFIX = ".json"
BINARY = False
CONVENTION = ("vec(C) = W @ ((U @ vec(A)) * (V @ vec(B))), row-major vec; "
              "U: R x nm, V: R x mp, W: np x R")
SCHEME_FILE_VERSION = 1


def detect(text: str) -> bool:
    """Whether stripped text is JSON (an object), the project's or another JSON format."""
    return text.startswith("{")


def parse_json(text: str):
    """The parsed JSON document of text; SchemeFormatError when it is not valid JSON."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SchemeFormatError(f"not valid JSON: {str(exc)[:80]}") from None
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise SchemeFormatError(f"a number has more than {MAX_DIGITS} digits") from None


def read(text: str) -> Reading:
    """The scheme of a project JSON text."""
    return Reading(scheme_from_dict(parse_json(text)), NAME)


def scheme_to_json(scheme: Scheme) -> str:
    """Canonical JSON text of a scheme: same algorithm and provenance give the same bytes.

    Keys are sorted and each matrix row sits on one line, so diffs of scheme files read well.
    """
    c = canonical(scheme)
    doc = {
        "U": [[encode_fraction(x) for x in row] for row in c.U],
        "V": [[encode_fraction(x) for x in row] for row in c.V],
        "W": [[encode_fraction(x) for x in row] for row in c.W],
        "convention": CONVENTION,
        "format": list(c.fmt),
        "provenance": c.provenance,
        "rank": c.rank,
        "version": SCHEME_FILE_VERSION,
    }
    parts = []
    for key in sorted(doc):
        value = doc[key]
        if key in ("U", "V", "W"):
            rows = ",\n".join("  " + json.dumps(row) for row in value)
            parts.append(f" {json.dumps(key)}: [\n{rows}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value, sort_keys=True)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def scheme_from_dict(doc) -> Scheme:
    """Build a scheme from a parsed scheme-file document, validating every field."""
    if not isinstance(doc, dict):
        raise SchemeFormatError("scheme file must hold a JSON object")
    missing = [k for k in ("format", "U", "V", "W") if k not in doc]
    if missing:
        raise SchemeFormatError(f"scheme file lacks key(s) {', '.join(missing)}")
    fmt = doc["format"]
    if not (isinstance(fmt, list) and len(fmt) == 3
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in fmt)):
        raise SchemeFormatError(f"'format' must be three positive integers, got {fmt!r}"[:120])
    check_limits(fmt, len(doc["U"]) if isinstance(doc["U"], list) else None)
    for key in ("U", "V", "W"):
        rows = doc[key]
        if not (isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows)
                and len({len(r) for r in rows}) == 1):
            raise SchemeFormatError(f"'{key}' must be a non-empty rectangular list of lists")
    scheme = Scheme(tuple(fmt), doc["U"], doc["V"], doc["W"], doc.get("provenance") or {})
    if "rank" in doc and doc["rank"] != scheme.rank:
        raise SchemeFormatError(f"'rank' is {doc['rank']!r} but U has {scheme.rank} rows")
    return scheme


def load_scheme(path: str | Path) -> Scheme:
    """Read a scheme JSON file (a regular file, within the size cap and the limits of
    bilinear.algebra.schemes); raises SchemeFormatError with one clear line naming the file."""
    from bilinear.io import LoadError, read_regular_bytes

    try:
        text = read_regular_bytes(path).decode("utf-8")
    except LoadError as exc:
        raise SchemeFormatError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise SchemeFormatError(f"cannot read {path}: {exc}") from None
    try:
        scheme = scheme_from_dict(parse_json(text))
        check_work(scheme)
        return scheme
    except SchemeFormatError as exc:
        raise SchemeFormatError(f"{path}: {exc}") from None


def save_scheme(path: str | Path, scheme: Scheme) -> None:
    """Write a scheme file canonically and atomically."""
    from bilinear.io import atomic_write_text

    atomic_write_text(path, scheme_to_json(scheme))


write = scheme_to_json
