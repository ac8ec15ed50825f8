"""Scheme bundles: many schemes of one collection in one gzip-compressed file, one line per
scheme, {"key": <fingerprint>, "scheme": <project JSON>} (sorted by key); read by key, or all
at once (read_all: `python -m bilinear verify` checks every entry).  Written by discovery
(bilinear.search.discover.write_found) as schemes/found/<format>-r<rank>/schemes.jsonl.gz.
Not one of the single-scheme file formats (bilinear.algebra.formats)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from bilinear.algebra.formats.project_json import scheme_from_dict
from bilinear.algebra.schemes import Scheme, SchemeFormatError

NAME = "bundle"
FILE = "schemes.jsonl.gz"
GZIP_MAGIC = b"\x1f\x8b"


def detect(raw: bytes) -> bool:
    """Whether the raw bytes are gzip-compressed (a bundle)."""
    return raw.startswith(GZIP_MAGIC)


def read_texts(path: str | Path) -> dict[str, str]:
    """{key: project JSON text} of every entry; SchemeFormatError on a malformed file."""
    out = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                entry = json.loads(line)
                if not isinstance(entry, dict) or set(entry) != {"key", "scheme"}:
                    raise SchemeFormatError(f"line {number}: expected {{key, scheme}}")
                out[str(entry["key"])] = json.dumps(entry["scheme"])
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemeFormatError(f"not a readable scheme bundle ({exc})") from None
    return out


def read_all(path: str | Path) -> dict[str, Scheme]:
    """{key: Scheme} of every entry of a bundle."""
    return {key: scheme_from_dict(json.loads(text)) for key, text in read_texts(path).items()}


def read(path: str | Path, key: str) -> Scheme:
    """The scheme `key` of a bundle; SchemeFormatError names the count when it is missing."""
    texts = read_texts(path)
    if key not in texts:
        raise SchemeFormatError(f"a bundle of {len(texts)} schemes has no scheme {key!r}")
    return scheme_from_dict(json.loads(texts[key]))


def bundle_bytes(texts: dict[str, str]) -> bytes:
    """The compressed bundle of {key: project JSON text} (deterministic: sorted, no mtime)."""
    lines = "".join(json.dumps({"key": key, "scheme": json.loads(texts[key])},
                               separators=(",", ":")) + "\n" for key in sorted(texts))
    return gzip.compress(lines.encode("utf-8"), mtime=0)

