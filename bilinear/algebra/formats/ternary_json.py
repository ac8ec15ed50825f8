"""Format ``ternary-json``: the ternary flip-graph collection's JSON, ``{"n": [n, m, p], "m": rank,
"z2": bool, "u", "v", "w"}``, one row per product; u indexes A row-major (i*m+j), v B (j*p+k),
w C transposed (k*n+i); rationals as "p/q" strings."""

from __future__ import annotations

import json

import numpy as np

from bilinear.algebra.formats.project_json import parse_json
from bilinear.algebra.formats.reading import Reading
from bilinear.algebra.schemes import Scheme, SchemeFormatError, check_limits, encode_fraction

NAME = "ternary-json"
SUFFIX = None  # .json is the project's own format
BINARY = False


def detect(text: str) -> bool:
    """Whether stripped text is a JSON object with the collection's keys 'n' and 'u'."""
    if not text.startswith("{"):
        return False
    try:
        doc = parse_json(text)
    except SchemeFormatError:
        return False
    return isinstance(doc, dict) and "u" in doc and "n" in doc


def read(text: str) -> Reading:
    """The scheme of a ternary JSON text and whether it declares itself valid modulo 2 only."""
    doc = parse_json(text)
    fmt = doc.get("n")
    if not (isinstance(fmt, list) and len(fmt) == 3
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in fmt)):
        raise SchemeFormatError(f"'n' must be three positive integers, got {fmt!r}"[:120])
    n, m, p = fmt
    check_limits(fmt, len(doc["u"]) if isinstance(doc.get("u"), list) else None)
    rows = {}
    for key, width in (("u", n * m), ("v", m * p), ("w", n * p)):
        val = doc.get(key)
        if not (isinstance(val, list) and val and all(isinstance(r, list) and len(r) == width
                                                      for r in val)):
            raise SchemeFormatError(f"'{key}' must be a non-empty list of rows of {width} entries")
        rows[key] = val
    if len({len(r) for r in rows.values()}) != 1:
        raise SchemeFormatError("'u', 'v' and 'w' have different numbers of products")
    rank = len(rows["u"])
    if "m" in doc and doc["m"] != rank:
        raise SchemeFormatError(f"'m' is {doc['m']!r} but there are {rank} products"[:120])
    z2 = doc.get("z2", False)
    if not isinstance(z2, bool):
        raise SchemeFormatError("'z2' must be true or false")
    w = np.array(rows["w"], dtype=object)
    W = np.empty((n * p, rank), dtype=object)
    for i in range(n):
        for k in range(p):
            W[i * p + k] = w[:, k * n + i]
    return Reading(Scheme((n, m, p), rows["u"], rows["v"], W), NAME, z2)


def write(scheme: Scheme) -> str:
    """The scheme in the ternary flip-graph collection's JSON (rationals as "p/q" strings)."""
    n, m, p = scheme.fmt
    w = [[encode_fraction(scheme.W[i * p + k, r]) for k in range(p) for i in range(n)]
         for r in range(scheme.rank)]
    doc = {"n": [n, m, p], "m": scheme.rank, "z2": False,
           "u": [[encode_fraction(x) for x in row] for row in scheme.U],
           "v": [[encode_fraction(x) for x in row] for row in scheme.V], "w": w}
    body = ",\n".join(
        f'    "{k}": ' + (json.dumps(doc[k]) if k not in "uvw" else
                          "[\n" + ",\n".join("        " + json.dumps(r) for r in doc[k])
                          + "\n    ]") for k in doc)
    return "{\n" + body + "\n}\n"
