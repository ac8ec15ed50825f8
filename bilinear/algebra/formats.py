"""Published scheme formats, read and written, detected by content; conventions converted here.

Formats (all convert to the project's convention, see bilinear.algebra.schemes):

- ``exp``: flip-graph text, one product per line ``(form in aIJ)*(form in bJK)*(form in cKI)``
  with 1-based one-digit indices; the third factor indexes C transposed (the coefficient of
  ``cKI`` is the product's weight in C[I][K]).  Any rational arithmetic of the forms is accepted
  (``(3*(a11 - a12))*(b21)*(c12)/3``); formats above 9 (multi-digit indices) are refused.
- ``ternary-json``: ``{"n": [n, m, p], "m": rank, "z2": bool, "u", "v", "w"}``, one row per
  product; u indexes A row-major (i*m+j), v B (j*p+k), w C transposed (k*n+i).
- ``maple``: ``Tensor := TriadSet([Triad([U_1, V_1, W_1]), ...])`` of ``Matrix(r, c, [[...]])``
  with U_t n x m, V_t m x p, W_t p x n and C[i][k] = sum_t <U_t, A> <V_t, B> W_t[k][i].
- ``json``: the project's scheme file; ``npz``: AlphaTensor's plain layout (needs a key).
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from bilinear.algebra.exp_format import read_exp, to_exp
from bilinear.algebra.schemes import (
    Scheme,
    SchemeFormatError,
    load_npz_scheme,
    npz_keys,
    scheme_from_dict,
    scheme_to_json,
)

ZIP_MAGIC = b"PK\x03\x04"
MAX_BYTES = 64 << 20  # larger files are refused rather than read into memory


class Reading:
    """A scheme read from a file: the scheme, the format's name and whether the file declares
    itself valid modulo 2 only (ternary-json with z2 true)."""

    def __init__(self, scheme: Scheme, fmt_name: str, declared_mod2: bool = False) -> None:
        self.scheme, self.format, self.declared_mod2 = scheme, fmt_name, declared_mod2


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
        if raw.startswith(ZIP_MAGIC):
            return _read_npz(path, key)
        if key is not None:
            raise SchemeFormatError("not an npz file; --key applies only to npz files")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SchemeFormatError("binary content that is neither an npz nor a text scheme "
                                    "format") from None
        reading = _read_text(text)
        reading.scheme.provenance = {"source": path.name, "file_format": reading.format,
                                     **reading.scheme.provenance}
        return reading
    except SchemeFormatError as exc:
        if str(path) in str(exc):
            raise
        raise SchemeFormatError(f"{path}: {exc}") from None


def _read_npz(path: Path, key: str | None) -> Reading:
    keys = npz_keys(path)
    if key is None or key not in keys:
        what = "needs --key" if key is None else f"has no scheme {key!r}"
        order = sorted(keys, key=lambda k: tuple(int(x) if x.isdigit() else 0
                                                 for x in k.split("x")))
        raise SchemeFormatError(f"{what}; available keys: {', '.join(order) or 'none'}")
    return Reading(load_npz_scheme(path, key), "npz")


def _read_text(text: str) -> Reading:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise SchemeFormatError(f"not valid JSON: {str(exc)[:80]}") from None
        if isinstance(doc, dict) and "u" in doc and "n" in doc:
            return _read_ternary_json(doc)
        return Reading(scheme_from_dict(doc), "json")
    if "TriadSet" in stripped:
        return Reading(_read_maple(stripped), "maple")
    if re.search(r"[abc]\d", stripped) and "*" in stripped:
        return Reading(read_exp(stripped), "exp")
    raise SchemeFormatError("not a recognised scheme format (expected .exp products, ternary or "
                            "project JSON, a Maple TriadSet, or an npz)")


# ---- ternary JSON ----------------------------------------------------------------------------

def _read_ternary_json(doc: dict) -> Reading:
    fmt = doc.get("n")
    if not (isinstance(fmt, list) and len(fmt) == 3
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in fmt)):
        raise SchemeFormatError(f"'n' must be three positive integers, got {fmt!r}"[:120])
    n, m, p = fmt
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
    return Reading(Scheme((n, m, p), rows["u"], rows["v"], W), "ternary-json", z2)


def _plain(x: Fraction):
    return int(x) if x.denominator == 1 else str(x)


def to_ternary_json(scheme: Scheme) -> str:
    """The scheme in the ternary flip-graph collection's JSON (rationals as "p/q" strings)."""
    n, m, p = scheme.fmt
    w = [[_plain(scheme.W[i * p + k, r]) for k in range(p) for i in range(n)]
         for r in range(scheme.rank)]
    doc = {"n": [n, m, p], "m": scheme.rank, "z2": False,
           "u": [[_plain(x) for x in row] for row in scheme.U],
           "v": [[_plain(x) for x in row] for row in scheme.V], "w": w}
    body = ",\n".join(
        f'    "{k}": ' + (json.dumps(doc[k]) if k not in "uvw" else
                          "[\n" + ",\n".join("        " + json.dumps(r) for r in doc[k])
                          + "\n    ]") for k in doc)
    return "{\n" + body + "\n}\n"


# ---- Maple TriadSet --------------------------------------------------------------------------

_MATRIX = re.compile(r"Matrix\(\s*(\d+)\s*,\s*(\d+)\s*,\s*\[(.*?)\]\s*\)", re.DOTALL)
_ENTRY = re.compile(r"[+-]?\d+(?:/\d+)?")


def _maple_matrix(rows: int, cols: int, body: str) -> list[list[Fraction]]:
    found = re.findall(r"\[([^\[\]]*)\]", body)
    if len(found) != rows:
        raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) has {len(found)} rows")
    out = []
    for row in found:
        entries = [e.strip() for e in row.split(",")]
        if len(entries) != cols:
            raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) row has {len(entries)} entries")
        for e in entries:
            if not _ENTRY.fullmatch(e) or e.endswith("/0"):
                raise SchemeFormatError(f"entry {e[:20]!r} is not a rational number "
                                        "(parametric schemes are not supported)")
        out.append([Fraction(e) for e in entries])
    return out


def _read_maple(text: str) -> Scheme:
    body = text[text.index("TriadSet"):]
    mats = [_maple_matrix(int(r), int(c), b) for r, c, b in _MATRIX.findall(body)]
    triads = body.count("Triad(")
    if not mats or len(mats) != 3 * triads:
        raise SchemeFormatError(f"{triads} Triad(...) but {len(mats)} Matrix(...) entries")
    n, m = len(mats[0]), len(mats[0][0])
    p = len(mats[1][0])
    U, V, W = [], [], np.empty((n * p, triads), dtype=object)
    for t in range(triads):
        a, b, c = mats[3 * t: 3 * t + 3]
        shapes = [(len(x), len(x[0])) for x in (a, b, c)]
        if shapes != [(n, m), (m, p), (p, n)]:
            raise SchemeFormatError(f"triad {t + 1} has shapes {shapes}, expected "
                                    f"{[(n, m), (m, p), (p, n)]}")
        U.append([x for row in a for x in row])
        V.append([x for row in b for x in row])
        for i in range(n):
            for k in range(p):
                W[i * p + k, t] = c[k][i]
    return Scheme((n, m, p), U, V, W)


def to_maple(scheme: Scheme) -> str:
    """The scheme as a Maple TriadSet of the FMM catalogue."""
    n, m, p = scheme.fmt

    def mat(rows, cols, get) -> str:
        body = ",".join("[" + ",".join(str(get(i, j)) for j in range(cols)) + "]"
                        for i in range(rows))
        return f"Matrix({rows}, {cols}, [{body}])"

    triads = [
        "Triad([" + ", ".join([
            mat(n, m, lambda i, j, r=r: scheme.U[r, i * m + j]),
            mat(m, p, lambda j, k, r=r: scheme.V[r, j * p + k]),
            mat(p, n, lambda k, i, r=r: scheme.W[i * p + k, r])]) + "])"
        for r in range(scheme.rank)]
    return "Tensor := TriadSet([\n" + ",\n".join(triads) + "\n]);\n"


WRITERS = {"json": scheme_to_json, "exp": to_exp, "ternary-json": to_ternary_json,
           "maple": to_maple}
SUFFIXES = {".json": "json", ".exp": "exp", ".mpl": "maple"}
