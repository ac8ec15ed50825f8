"""Certified invariants finer than the fingerprint's profile: classes of pairwise inequivalent
schemes (equivalence as in bilinear.algebra.fingerprint).

The refined fingerprint refines the profile (bilinear.algebra.fingerprint.profile) with the
relations between products: for two products r, s and a role, the edge label (factors parallel?,
{dim(col U_r cap col U_s), dim(row U_r cap row U_s)}).  The sandwich matrices map the column and
row spaces of the factors, so the intersection dimensions are invariant, and taking them as an
unordered pair makes them invariant under the transposes that transposition and rotation bring.
Products are coloured by their profiles and refined by three rounds of colour refinement
(Weisfeiler-Leman) over the labelled product graph; the refined fingerprint hashes the sorted
colours, minimised over the format's role permutations.

What is certified: two schemes with different refined fingerprints are inequivalent (every
ingredient is invariant under the whole group, and colour refinement is an isomorphism invariant
of the labelled graph), so the entries of a discovery bundle, keyed by it, are pairwise
inequivalent.  What is not: equal refined fingerprints do not prove equivalence (colour
refinement is incomplete); an explicit witness (bilinear.algebra.equivalence, <2,2,2> only) is
the proof of equivalence.  Ranks are exact (integer elimination over the rationals), so the
refined fingerprint is the same on every machine.  The profile alone lumps, for example, every
<3,3,3>:23 scheme whose products all have rank-1 factors and no parallel factors; the refined
fingerprint separates many of them (tests/test_invariants.py).
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import numpy as np

from bilinear.algebra.fingerprint import _direction, _factors, exact_rank, role_permutations
from bilinear.algebra.schemes import Scheme


def _integer(matrix: np.ndarray) -> list[list[int]]:
    """The rows of a rational matrix scaled to integers (same row and column spaces)."""
    flat = [Fraction(x) for x in matrix.flat]
    scale = math.lcm(*(x.denominator for x in flat)) if flat else 1
    cols = matrix.shape[1]
    ints = [int(x * scale) for x in flat]
    return [ints[i:i + cols] for i in range(0, len(ints), cols)]


def int_rank(rows: list[list[int]]) -> int:
    """Rank over the rationals of an integer matrix, by fraction-free elimination (each new row
    divided by the gcd of its entries)."""
    rows = [list(r) for r in rows]
    rank = 0
    cols = len(rows[0]) if rows else 0
    for col in range(cols):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        head = rows[rank]
        for i in range(rank + 1, len(rows)):
            if rows[i][col]:
                row = [head[col] * a - rows[i][col] * b for a, b in zip(rows[i], head, strict=True)]
                g = math.gcd(*row) or 1
                rows[i] = [x // g for x in row]
        rank += 1
    return rank


def _edges(scheme: Scheme) -> dict[tuple[int, int], list[tuple]]:
    """{(r, s): per role (parallel, min and max of the column- and row-space intersection
    dimensions)} for every pair of products with a nonzero label in some role."""
    factors = [[_integer(f) for f in role] for role in _factors(scheme)]
    ranks = [[int_rank(f) for f in role] for role in factors]
    lines = [[_direction(f) for f in role] for role in _factors(scheme)]
    out = {}
    for r in range(scheme.rank):
        for s in range(r + 1, scheme.rank):
            label = []
            for k, role in enumerate(factors):
                a, b = role[r], role[s]
                both = ranks[k][r] + ranks[k][s]
                col = both - int_rank([x + y for x, y in zip(a, b, strict=True)])
                row = both - int_rank(a + b)
                par = int(lines[k][r] == lines[k][s] and lines[k][r] != ("zero",))
                label.append((par, min(col, row), max(col, row)))
            if any(any(x) for x in label):
                out[(r, s)] = label
    return out


def _digest(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def _colorings(scheme: Scheme, perms, rounds: int):
    """The product colours after colour refinement, one list per role permutation in perms."""
    factors = _factors(scheme)
    ranks = [[exact_rank(f) for f in role] for role in factors]
    parallel = []
    for role in factors:
        lines = [_direction(f) for f in role]
        parallel.append([lines.count(line) - 1 for line in lines])
    edges = _edges(scheme)
    for perm in perms:
        colors = [_digest(tuple(ranks[k][r] for k in perm) + tuple(parallel[k][r] for k in perm))
                  for r in range(scheme.rank)]
        nbrs = [[] for _ in range(scheme.rank)]
        for (r, s), label in edges.items():
            key = tuple(label[k] for k in perm)
            nbrs[r].append((key, s))
            nbrs[s].append((key, r))
        for _ in range(rounds):
            colors = [_digest((colors[r], sorted((key, colors[s]) for key, s in nbrs[r])))
                      for r in range(scheme.rank)]
        yield colors


def product_colors(scheme: Scheme, rounds: int = 3) -> list[str]:
    """Each product's colour after colour refinement (roles as stored): a symmetry of the
    sandwich kind maps every product to one of the same colour."""
    return next(_colorings(scheme, [(0, 1, 2)], rounds))


def refined(scheme: Scheme, rounds: int = 3) -> tuple[str, ...]:
    """The sorted product colours after colour refinement of the labelled product graph,
    minimised over the format's role permutations (see the module docstring)."""
    return min(tuple(sorted(colors))
               for colors in _colorings(scheme, role_permutations(scheme.fmt), rounds))


def refined_fingerprint(scheme: Scheme) -> str:
    """A short stable name of the refined invariant: '<n>x<m>x<p>-r<R>-<12 hex digits>'."""
    n, m, p = scheme.fmt
    digest = hashlib.sha256(";".join(refined(scheme)).encode()).hexdigest()[:12]
    return f"{n}x{m}x{p}-r{scheme.rank}-{digest}"
