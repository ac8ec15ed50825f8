"""Format ``maple``: the FMM catalogue's ``Tensor := TriadSet([Triad([U_1, V_1, W_1]), ...])`` of
``Matrix(r, c, [[...]])`` with U_t n x m, V_t m x p, W_t p x n and
C[i][k] = sum_t <U_t, A> <V_t, B> W_t[k][i]."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from bilinear.algebra.formats.reading import Reading
from bilinear.algebra.schemes import Scheme, SchemeFormatError

NAME = "maple"
SUFFIX = ".mpl"
BINARY = False

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


def detect(text: str) -> bool:
    """Whether stripped text holds a Maple TriadSet."""
    return "TriadSet" in text


def read(text: str) -> Reading:
    """The scheme of a Maple TriadSet text."""
    return Reading(_scheme_of(text), NAME)


def _scheme_of(text: str) -> Scheme:
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
