"""Format ``maple``: the FMM catalogue's ``Tensor := TriadSet([Triad([U_1, V_1, W_1]), ...])`` of
``Matrix(r, c, [[...]])`` with U_t n x m, V_t m x p, W_t p x n and
C[i][k] = sum_t <U_t, A> <V_t, B> W_t[k][i].  Read in one pass (linear time), within the limits of
bilinear.algebra.schemes."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from bilinear.algebra.formats.reading import Reading
from bilinear.algebra.schemes import (
    LIMITS,
    MAX_DIGITS,
    MAX_SIDE,
    Scheme,
    SchemeFormatError,
    check_limits,
    parse_number,
)

NAME = "maple"
SUFFIX = ".mpl"
BINARY = False

_HEAD = re.compile(r"Matrix\(\s*(\d{1,6})\s*,\s*(\d{1,6})\s*,\s*\[")
_ROW = re.compile(r"\s*\[([^\[\]]*)\]\s*")
_TAIL = re.compile(r"\]\s*\)")
_ENTRY = re.compile(r"[+-]?\d+(?:/\d+)?")


def _maple_matrix(text: str, pos: int) -> tuple[list[list[Fraction]], int]:
    """The Matrix(r, c, [[...], ...]) starting at pos, and the position after it; one pass over
    its text, so a file is read in linear time."""
    head = _HEAD.match(text, pos)
    if head is None:
        raise SchemeFormatError(f"malformed Matrix(...) near {text[pos:pos + 30]!r}")
    rows, cols = int(head.group(1)), int(head.group(2))
    if min(rows, cols) < 1:
        raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) is empty (no rows or columns)")
    if max(rows, cols) > MAX_SIDE:
        raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) is beyond the limits ({LIMITS})")
    out, pos = [], head.end()
    while (row := _ROW.match(text, pos)) is not None:
        if len(out) == rows:
            raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) has more than {rows} rows")
        entries = [e.strip() for e in row.group(1).split(",")]
        if len(entries) != cols:
            raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) row has {len(entries)} entries")
        for e in entries:
            if not _ENTRY.fullmatch(e[:2 * MAX_DIGITS + 4]):
                raise SchemeFormatError(f"entry {e[:20]!r} is not a rational number "
                                        "(parametric schemes are not supported)")
        out.append([parse_number(e, "an entry") for e in entries])
        pos = row.end()
        if text.startswith(",", pos):
            pos += 1
    if len(out) != rows:
        raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) has {len(out)} rows")
    tail = _TAIL.match(text, pos)
    if tail is None:
        raise SchemeFormatError(f"a Matrix({rows}, {cols}, ...) is not closed by '])'")
    return out, tail.end()


def detect(text: str) -> bool:
    """Whether stripped text holds a Maple TriadSet."""
    return "TriadSet" in text


def read(text: str) -> Reading:
    """The scheme of a Maple TriadSet text."""
    return Reading(_scheme_of(text), NAME)


def _scheme_of(text: str) -> Scheme:
    body = text[text.index("TriadSet"):]
    triads = body.count("Triad(")
    check_limits((1, 1, 1), triads)
    mats, pos = [], 0
    while (pos := body.find("Matrix(", pos)) >= 0:
        if len(mats) == 3 * triads:
            raise SchemeFormatError(f"{triads} Triad(...) but more Matrix(...) entries")
        mat, pos = _maple_matrix(body, pos)
        mats.append(mat)
    if not mats or len(mats) != 3 * triads:
        raise SchemeFormatError(f"{triads} Triad(...) but {len(mats)} Matrix(...) entries")
    n, m = len(mats[0]), len(mats[0][0])
    p = len(mats[1][0])
    check_limits((n, m, p), triads)
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


def write(scheme: Scheme) -> str:
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
