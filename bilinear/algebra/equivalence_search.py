"""Explicit equivalence search between two schemes of any format: a witness, or a certificate
that none exists.

The symmetries (as in bilinear.algebra.fingerprint) act on a product's factors a (n x m,
coefficients of A), b (m x p) and c (n x p) by

    sandwich    (a, b, c) -> (X^-T a Y^T, Y^-T b Z^T, X c Z^-1)    X, Y, Z invertible
    cyclic      (a, b, c) -> (c^T, a, b^T)      <n,m,p> -> <p,n,m>
    transpose   (a, b, c) -> (b^T, a^T, c^T)    <n,m,p> -> <p,m,n>

plus a permutation of the products and rescaling each product's factors by alpha, beta,
1/(alpha beta).  The role maps (cyclic^k, then transpose) tried are those that send the
scheme's format to the target's (so <2,3,4> can be compared with <4,2,3>); schemes of formats
no role map relates are inequivalent.

The search never enumerates matrices.  A sandwich that sends product s onto a multiple of
product t maps the column and row spaces of s's factors onto t's, and each of those conditions
is linear in one of X, Y, Z alone (for example X^T col(a_t) within col(a_s)).  Products are
matched in a depth-first search, only to products of the same colour (bilinear.algebra.
invariants.product_colors, an invariant of each product under the sandwich maps), each match
cutting down three solution spaces.  When a space is {0} the branch is impossible; once each is
a line, X, Y and Z are fixed up to scale (which does not change the products), and the whole
scheme is mapped and compared with the target exactly, product by product, up to scale.

What is certified:
- "equivalent": the witness, replayed exactly by :func:`apply_witness`, gives the target's
  products (same order, same coefficients); tests replay every witness.
- "inequivalent": every match of products that the linear conditions allow was refuted
  (no role map, or every branch ended in a {0} space, a singular X, Y or Z, or a mapped scheme
  that differs from the target).  The conditions are necessary, so no symmetry was missed.
- "undecided": the node budget ran out, or a branch matched every product with a solution space
  still larger than a line and the random members tried did not map the scheme.  A scheme with
  a continuous family of self-maps (such as the standard algorithm) never fixes X, Y and Z; for
  it, random members of the solution spaces are tried as soon as their dimensions add up to at
  most n + m + p, and a generic member maps it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bilinear.algebra import equivalence  # slots, role maps and scale-free keys, shared
from bilinear.algebra.invariants import product_colors
from bilinear.algebra.schemes import Scheme, encode_fraction, to_fractions

ROLE_MAPS = tuple((t, k) for k in range(3) for t in (0, 1))  # cyclic^k, then transpose if t
SAMPLES = 8  # random members of a solution space tried when it is not a line


@dataclass(frozen=True)
class Verdict:
    """The search's answer: 'equivalent' (with the witness), 'inequivalent' or 'undecided';
    nodes is the number of product matches tried."""

    status: str
    witness: dict | None
    nodes: int


def _frac(M) -> np.ndarray:
    return np.vectorize(Fraction, otypes=[object])(np.asarray(M, dtype=object))


def _slots(scheme: Scheme) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(_frac(a), _frac(b), _frac(c)) for a, b, c in equivalence._slots(scheme)]


def role_format(fmt: tuple[int, int, int], transpose: int, cyclic: int) -> tuple[int, int, int]:
    """The format a role map sends fmt to."""
    n, m, p = fmt
    for _ in range(cyclic):
        n, m, p = p, n, m
    return (p, m, n) if transpose else (n, m, p)


def role_map(scheme: Scheme, transpose: int, cyclic: int) -> Scheme:
    """The scheme under a role map (cyclic^k, then transpose): a scheme of role_format(...)."""
    return equivalence._scheme(role_format(scheme.fmt, transpose, cyclic),
                               equivalence._role(_slots(scheme), transpose, cyclic),
                               scheme.provenance)


# --- exact linear algebra over the rationals --------------------------------------------------

def _rref(rows: list[list[Fraction]], width: int) -> tuple[list[list[Fraction]], list[int]]:
    rows = [list(r) for r in rows]
    pivots, rank = [], 0
    for col in range(width):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        head = rows[rank]
        inv = 1 / head[col]
        head = rows[rank] = [x * inv for x in head]
        for i in range(len(rows)):
            if i != rank and rows[i][col] != 0:
                f = rows[i][col]
                rows[i] = [x - f * y for x, y in zip(rows[i], head, strict=True)]
        pivots.append(col)
        rank += 1
    return rows[:rank], pivots


def _nullspace(rows: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    """A basis of {x : rows x = 0}."""
    reduced, pivots = _rref(rows, width)
    free = [c for c in range(width) if c not in pivots]
    basis = []
    for f in free:
        x = [Fraction(0)] * width
        x[f] = Fraction(1)
        for row, pc in zip(reduced, pivots, strict=True):
            x[pc] = -row[f]
        basis.append(x)
    return basis


def _column_basis(M: np.ndarray) -> list[list[Fraction]]:
    """Independent columns spanning M's column space."""
    _, pivots = _rref([list(r) for r in M], M.shape[1])
    return [list(M[:, c]) for c in pivots]


def _complement(M: np.ndarray) -> list[list[Fraction]]:
    """A basis of the vectors orthogonal to M's column space (the left null space)."""
    return _nullspace([list(r) for r in M.T], M.shape[0])


def _restrict(space: list[list[Fraction]], rows: list[list[Fraction]]) -> list[list[Fraction]]:
    """The members of span(space) (a basis) that satisfy rows . x = 0, as a basis."""
    if not rows or not space:
        return space
    coeffs = [[sum((r[i] * v[i] for i in range(len(r)) if r[i] and v[i]), Fraction(0))
               for v in space] for r in rows]
    kept = _nullspace(coeffs, len(space))
    return [[sum((c[j] * space[j][i] for j in range(len(space)) if c[j]), Fraction(0))
             for i in range(len(space[0]))] for c in kept]


def _outer_rows(left: list, right: list) -> list[list[Fraction]]:
    """Rows of the conditions l^T M r = 0 over vec(M) (row-major), one per pair (l, r)."""
    return [[li * rj for li in lv for rj in rv] for lv in left for rv in right]


def _conditions(s, t) -> tuple[list, list, list]:
    """The linear conditions on vec(X), vec(Y), vec(Z) for sending product s onto a multiple of
    product t: column and row spaces of each factor map onto the target's."""
    (a, b, c), (ta, tb, tc) = s, t
    x_rows = (_outer_rows(_column_basis(ta), _complement(a))          # X^T col(a_t) in col(a_s)
              + _outer_rows(_complement(tc), _column_basis(c)))       # X col(c_s) in col(c_t)
    y_rows = (_outer_rows(_complement(ta.T), _column_basis(a.T))      # Y row(a_s) in row(a_t)
              + _outer_rows(_column_basis(tb), _complement(b)))       # Y^T col(b_t) in col(b_s)
    z_rows = (_outer_rows(_complement(tb.T), _column_basis(b.T))      # Z row(b_s) in row(b_t)
              + _outer_rows(_column_basis(tc.T), _complement(c.T)))   # Z^T row(c_t) in row(c_s)
    return x_rows, y_rows, z_rows


def _inverse(M: np.ndarray) -> np.ndarray | None:
    n = M.shape[0]
    rows = [list(M[i]) + [Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    reduced, pivots = _rref(rows, n)
    if pivots[:n] != list(range(n)) or len(pivots) < n:
        return None
    return np.array([r[n:] for r in reduced], dtype=object)


# --- matching ---------------------------------------------------------------------------------

def _sandwich(slots, X, Y, Z, wanted: dict | None = None):
    """The products moved by the sandwich (None when X, Y or Z is singular, or as soon as a
    moved product's key is not in `wanted`)."""
    Xi, Yi, Zi = _inverse(X), _inverse(Y), _inverse(Z)
    if Xi is None or Yi is None or Zi is None:
        return None
    out = []
    for a, b, c in slots:
        moved = (Xi.T @ a @ Y.T, Yi.T @ b @ Z.T, X @ c @ Zi)
        if wanted is not None and equivalence._key(*moved) not in wanted:
            return None
        out.append(moved)
    return out


def _primitive(v: list[Fraction]) -> list[Fraction]:
    """v rescaled to coprime integers (the same line)."""
    from math import gcd, lcm

    den = lcm(*(x.denominator for x in v))
    ints = [int(x * den) for x in v]
    g = gcd(*ints) or 1
    return [Fraction(x, g) for x in ints]


def _finish(slots, target_slots, X, Y, Z, role) -> dict | None:
    moved = _sandwich(slots, X, Y, Z, {equivalence._key(*t): None for t in target_slots})
    if moved is None:
        return None
    keys = [equivalence._key(*s) for s in moved]
    where = {k: r for r, k in enumerate(keys)}
    if ("zero",) in where or len(where) != len(keys):
        return None
    perm = []
    for t in target_slots:
        r = where.get(equivalence._key(*t))
        if r is None:
            return None
        perm.append(r)
    scales = [[encode_fraction(equivalence._lead(ta) / equivalence._lead(moved[r][0])),
               encode_fraction(equivalence._lead(tb) / equivalence._lead(moved[r][1]))]
              for r, (ta, tb, _) in zip(perm, target_slots, strict=True)]
    return {"role": {"cyclic": role[1], "transpose": bool(role[0])},
            **{name: [[encode_fraction(v) for v in row] for row in M]
               for name, M in zip("XYZ", (X, Y, Z), strict=True)},
            "permutation": perm, "scales": scales}


def _matrix(vec: list[Fraction], n: int) -> np.ndarray:
    return np.array(vec, dtype=object).reshape(n, n)


def _order(slots, candidates) -> list[int]:
    """The products in the order the search matches them: those with one candidate first, then
    greedily the one whose factors' column and row spaces add most to those of the products
    before it (so X, Y and Z are pinned early), fewer candidates first among equals."""
    spaces = [[_column_basis(M) for M in (a, a.T, b, b.T, c, c.T)] for a, b, c in slots]
    spans: list[list] = [[] for _ in range(6)]
    full = [len(M) for M in (slots[0][0], slots[0][0].T, slots[0][1], slots[0][1].T,
                             slots[0][2], slots[0][2].T)] if slots else []
    left = set(range(len(slots)))
    order = []
    while left:
        if [len(sp) for sp in spans] == full:  # every space spanned: no gain left to compare
            return order + sorted(left, key=lambda s: (len(candidates[s]) > 1,
                                                       len(candidates[s]), s))
        def gain(s):
            return sum(len(_rref(spans[k] + spaces[s][k], len(spaces[s][k][0]))[1]) - len(spans[k])
                       for k in range(6) if spaces[s][k])
        s = min(left, key=lambda s: (len(candidates[s]) > 1, -gain(s), len(candidates[s]), s))
        for k in range(6):
            if spaces[s][k]:
                spans[k] = [list(r) for r in _rref(spans[k] + spaces[s][k],
                                                   len(spaces[s][k][0]))[0]]
        left.remove(s)
        order.append(s)
    return order


def search_equivalence(scheme: Scheme, target: Scheme, max_nodes: int = 200_000,
                       seed: int = 0) -> Verdict:
    """Search a symmetry mapping scheme onto target (see the module docstring for what each
    status certifies); max_nodes bounds the product matches tried, seed the random members."""
    if scheme.rank != target.rank:
        return Verdict("inequivalent", None, 0)
    fmt = tuple(target.fmt)
    dims = (fmt[0], fmt[1], fmt[2])
    tslots = _slots(target)
    tcolors = product_colors(target)
    rng = random.Random(seed)
    nodes = 0
    undecided = False
    for role in ROLE_MAPS:
        if role_format(tuple(scheme.fmt), *role) != fmt:
            continue
        moved = role_map(scheme, *role)
        colors = product_colors(moved)
        if sorted(colors) != sorted(tcolors):
            continue
        slots = _slots(moved)
        candidates = [[t for t in range(target.rank) if tcolors[t] == colors[s]]
                      for s in range(scheme.rank)]
        order = _order(slots, candidates)
        start = [[[Fraction(int(i == j)) for i in range(d * d)] for j in range(d * d)]
                 for d in dims]
        stack = [(0, start, frozenset())]
        while stack:
            depth, spaces, used = stack.pop()
            lines = all(len(sp) == 1 for sp in spaces)
            if lines or depth == len(order):
                found = _try(slots, tslots, spaces, dims, role, rng, 1 if lines else SAMPLES)
                if found is not None:
                    return Verdict("equivalent", found, nodes)
                undecided |= not lines
                continue
            if sum(len(sp) for sp in spaces) <= sum(dims):  # a small family: try members early
                found = _try(slots, tslots, spaces, dims, role, rng, 2)
                if found is not None:
                    return Verdict("equivalent", found, nodes)
            s = order[depth]
            for t in reversed(candidates[s]):
                if t in used:
                    continue
                nodes += 1
                if nodes > max_nodes:
                    return Verdict("undecided", None, nodes)
                rows = _conditions(slots[s], tslots[t])
                narrowed = [_restrict(sp, r) for sp, r in zip(spaces, rows, strict=True)]
                if all(narrowed):
                    stack.append((depth + 1, narrowed, used | {t}))
    return Verdict("undecided" if undecided else "inequivalent", None, nodes)


def _try(slots, tslots, spaces, dims, role, rng, tries: int) -> dict | None:
    """Map the scheme by members of the solution spaces (the only one up to scale when each is
    a line, else `tries` random integer combinations) and compare with the target."""
    for _ in range(tries):
        mats = []
        for sp, d in zip(spaces, dims, strict=True):
            coef = [Fraction(rng.randint(-1000, 1000)) for _ in sp] if len(sp) > 1 else [1]
            vec = [sum((c * v[i] for c, v in zip(coef, sp, strict=True)), Fraction(0))
                   for i in range(d * d)]
            mats.append(_matrix(_primitive(vec) if any(vec) else vec, d))
        found = _finish(slots, tslots, *mats, role)
        if found is not None:
            return found
    return None


def apply_witness(scheme: Scheme, witness: dict) -> Scheme:
    """Replay a witness exactly: role map, sandwich, then product s of the result is the moved
    product permutation[s] with a scaled by scales[s][0], b by scales[s][1], c by their inverse."""
    role = witness["role"]
    moved = role_map(scheme, int(role["transpose"]), int(role["cyclic"]))
    X, Y, Z = (to_fractions(witness[x], x) for x in "XYZ")
    slots = _sandwich(_slots(moved), X, Y, Z)
    if slots is None:
        raise ValueError("witness: X, Y or Z is singular")
    out = []
    for r, (sa, sb) in zip(witness["permutation"], witness["scales"], strict=True):
        alpha, beta = Fraction(sa), Fraction(sb)
        a, b, c = slots[r]
        out.append((a * alpha, b * beta, c / (alpha * beta)))
    return equivalence._scheme(moved.fmt, out, {"source": "equivalence witness"})


def same_products(scheme: Scheme, target: Scheme) -> bool:
    """True when the two schemes have the same format and identical coefficient arrays."""
    return (tuple(scheme.fmt) == tuple(target.fmt) and scheme.U.shape == target.U.shape
            and all((_frac(x) == _frac(y)).all() for x, y in
                    ((scheme.U, target.U), (scheme.V, target.V), (scheme.W, target.W))))
