"""Z3-symmetric flip-graph walks on square formats <n,n,n> (Moosbauer and Poole, "Flip graphs
with symmetry and new matrix multiplication schemes", 2025).

In the project's convention a product (a, b, c) contributes a (x) b (x) c with c indexing
C[i, k] at i*n + k, and the tensor is sum_ijk a_ij (x) b_jk (x) c_ik.  Writing c^T for the
n x n matrix of c transposed, the map

    sigma(a, b, c) = (b, c^T, a^T)

sends the term of (i, j, k) to the term of (j, k, i), so it maps the tensor to itself, and
sigma^3 is the identity.  A scheme is *symmetric* when sigma permutes its products (as
tensors): it is then `fixed` products x (x) x (x) x^T (sigma-invariant) and orbits
{P, sigma P, sigma^2 P} of three.  The standard algorithm is symmetric, with the n products
(i, i, i) fixed and (n^3 - n) / 3 orbits.

The symmetric walk (flips.c, bl_symmetric_walk) keeps one representative per orbit and moves
whole orbits, so every scheme on the way stays symmetric and the search space shrinks about
threefold:

- a flip between products of two *different* orbits is made on all three images at once (sigma
  commutes with the flip);
- reductions: a product sharing two factors with a product of another orbit merges with it
  (rank - 3), an orbit with a zero factor is dropped (rank - 3), two fixed products that cancel
  are dropped (rank - 2); over GF(2) also: an orbit with a product (x, x, z) and the fixed
  product of x merge into the orbit of (x, x, z + x^T) (rank - 1), and the orbit of
  (x, x, x^T), three equal products, is that fixed product (3 = 1 mod 2; rank - 2);
- a plus transition after `plateau` flips without a reduction splits two products of two
  orbits into three, on all images (rank + 3);
- a *fixed move* instead of it while the number of fixed products f is not congruent to the
  target rank modulo 3 (rank = f + 3 * orbits, so no scheme of the target rank has such an f):
  one fixed product fewer, by F_a + F_b = F_(a+b) + O(-a, a, b^T) + O(-b, b, a^T) (rank + 5;
  O(P) is the orbit sum of P) or, over GF(2), by taking F_x as the orbit of (x, x, x^T) (3 = 1)
  and flipping it with another orbit (rank + 2); or one more, by
  F_c = F_a + F_b + O(a, a, b^T) + O(b, b, a^T) with a a random part of c (rank + 7).
  With fixed_moves "free" (the default), a fixed move is also made now and then while f fits
  (with probability f / (f + orbits) at a plateau, one more or one fewer at random), so the
  fixed products themselves change; "target" makes only the moves toward a fitting f.

Without fixed moves ("none"), over the integers the fixed products never change, so from the
standard algorithm the rank stays n modulo 3 (<3,3,3> cannot reach 23).

Moosbauer and Poole start instead from fixed products chosen up front and kept: for a partition
of the diagonal indices into parts P, the fixed products of x_P = sum_(i in P) E_ii, and the
orbits of the rest of the tensor, the standard terms (i, j, k) other than (i, i, i) and minus the
terms E_ii (x) E_jj (x) E_kk of each part (i, j, k in P, not all equal) (cube_start; their
<5,5,5>:93 comes from the parts {0, 4}, {1, 3}, {2}, rank 3 + 3 * 30).  The *packed* walker
(flips.c, bl_symmetric_walk_packed; GF(2) only) follows their solver: the fixed products never
change; factors are 64-bit words and an orbit is stored as (a, b, c^T), on which sigma is a
rotation; a flip draws a factor value held by two products or more (from a table of the values'
holders), then a random ordered pair of its holders in different orbits; a flip that makes a
factor zero drops its orbit (rank - 3), the only reduction, as theirs (two products sharing two
factors are reduced when the flip on one of them that zeroes the third is drawn); with merge,
such products are merged as soon as a move makes them instead (no clear difference measured at
<5,5,5>:93, and some 15% fewer flips per second); plus transitions split two orbits into three
as above, after `plateau` flips without a reduction, at the lowest rank reached (plus_from
"best") or, as theirs, at any rank below the start's ("any"); with `patience`, a walk also ends
after that many flips without a new lowest rank.  From the parts {0, 4}, {1, 3}, {2} with their
settings it makes some 20M orbit flips per second and reaches <5,5,5>:93 in about one walk of 45
(scripts/symmetric_walks.py).

The walks are deterministic per seed on any machine (the PRNG of flips.c), and nothing they
return is trusted: search verifies every scheme exactly, lifting GF(2) ones first
(bilinear.algebra.lift).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

from bilinear.algebra.schemes import Scheme
from bilinear.search.discover import exact_scheme
from bilinear.search.flips import (
    FFI,
    MAX_BOUND,
    MAX_FIXED,
    MAX_LENGTH,
    MAX_PACKED_ORBITS,
    MAX_RANK,
    RINGS,
    Buffers,
    Product,
    Vec,
    WalkResult,
    library,
    standard,
)

FIXED_MOVES = ("none", "target", "free")   # which fixed moves plateaus may make (the module)
PLUS_FROM = ("best", "any")   # the ranks the packed walker makes plus transitions at (the module)


def transpose(v: Vec, n: int) -> Vec:
    """The n x n matrix of v (row-major) transposed, as a vector."""
    return tuple(v[i * n + k] for k in range(n) for i in range(n))


def rotate(product: Product, n: int) -> Product:
    """sigma(a, b, c) = (b, c^T, a^T), the cyclic symmetry of the <n,n,n> tensor."""
    a, b, c = product
    return b, transpose(c, n), transpose(a, n)


def fixed_product(x: Vec, n: int) -> Product:
    """The sigma-invariant product x (x) x (x) x^T."""
    return x, x, transpose(x, n)


def _primitive(v: Vec) -> tuple[Vec, int]:
    """(v / s, s) with s = +-gcd of v, the sign making the first nonzero entry of v / s positive."""
    g = math.gcd(*v)
    if g == 0:
        raise ValueError("symmetric walk: a product has a zero factor")
    s = g if next(x for x in v if x) > 0 else -g
    return tuple(x // s for x in v), s


def tensor_key(product: Product) -> Product:
    """A key equal for two products exactly when their tensors are equal (integer entries)."""
    (a, sa), (b, sb) = _primitive(product[0]), _primitive(product[1])
    return a, b, tuple(sa * sb * x for x in product[2])


def orbits(products: list[Product], n: int) -> tuple[list[Vec], list[Product]]:
    """(x of each fixed product, one representative per orbit of three) of a symmetric scheme
    (products compared as tensors); ValueError if sigma does not permute its products."""
    remaining = Counter(tensor_key(p) for p in products)
    fixed, representatives = [], []
    for p in products:
        key = tensor_key(p)
        if not remaining[key]:
            continue
        remaining[key] -= 1
        if tensor_key(rotate(p, n)) == key:
            x = next((x for x in (p[0], tuple(-t for t in p[0]))
                      if tensor_key(fixed_product(x, n)) == key), None)
            if x is None:
                raise ValueError("symmetric walk: a sigma-invariant product is not "
                                 "x (x) x (x) x^T for an integer x")
            fixed.append(x)
            continue
        image = p
        for _ in range(2):
            image = rotate(image, n)
            if not remaining[tensor_key(image)]:
                raise ValueError("symmetric walk: the scheme is not invariant under "
                                 "sigma(a, b, c) = (b, c^T, a^T)")
            remaining[tensor_key(image)] -= 1
        representatives.append(p)
    return fixed, representatives


def expand(fixed: list[Vec], representatives: list[Product], n: int) -> list[Product]:
    """The full scheme: each fixed product, then each orbit's three products."""
    out = [fixed_product(x, n) for x in fixed]
    for p in representatives:
        out += [p, rotate(p, n), rotate(rotate(p, n), n)]
    return out


def cube_start(n: int, parts) -> list[Product]:
    """The symmetric scheme of <n,n,n> with the fixed products of x_P = sum_(i in P) E_ii for each
    part P of a partition of range(n), then the orbits of the rest of the tensor (the module);
    parts of one index each give the standard algorithm's products."""
    parts = [tuple(part) for part in parts]
    if sorted(i for part in parts for i in part) != list(range(n)) or not all(parts):
        raise ValueError(f"cube start: the parts must partition range({n}), got {parts}")

    def unit(*entries, sign=1):
        return tuple(sign * int(t in entries) for t in range(n * n))

    out = [fixed_product(unit(*(i * n + i for i in part)), n) for part in parts]
    for i in range(n):
        for j in range(n):
            for k in range(n):
                if not i == j == k:
                    out.append((unit(i * n + j), unit(j * n + k), unit(i * n + k)))
    for part in parts:
        for i in part:
            for j in part:
                for k in part:
                    if not i == j == k:
                        out.append((unit(i * n + i), unit(j * n + j), unit(k * n + k, sign=-1)))
    return out


def walk(products: list[Product], target: int, seed: int, max_flips: int, plateau: int,
         samples: int, sample_every: int, max_coefficient: int = 1,
         ring: str = "integer", fixed_moves: str | None = None, packed: bool = False,
         patience: int = 0, plus_from: str = "best", merge: bool = False) -> WalkResult:
    """The symmetric walk (see the module) from a symmetric scheme of a square format, with the
    arguments and result of flips.walk (plus fixed_moves, one of FIXED_MOVES, by default "free",
    or "none" when packed): ranks and samples count full products, and every scheme returned is
    symmetric, its fixed products first, then the orbits' three each.  packed: the packed GF(2)
    walker, fixed products kept, with patience, plus_from (one of PLUS_FROM) and merge (the
    module)."""
    if ring not in RINGS:
        raise ValueError(f"symmetric walk: ring must be one of {RINGS}, got {ring!r}")
    if fixed_moves is None:
        fixed_moves = "none" if packed else "free"
    if fixed_moves not in FIXED_MOVES:
        raise ValueError(f"symmetric walk: fixed_moves must be one of {FIXED_MOVES}, "
                         f"got {fixed_moves!r}")
    if plus_from not in PLUS_FROM:
        raise ValueError(f"symmetric walk: plus_from must be one of {PLUS_FROM}, "
                         f"got {plus_from!r}")
    if packed and (ring != "gf2" or fixed_moves != "none"):
        raise ValueError("symmetric walk: the packed walker runs over gf2 without fixed moves")
    if not packed and (patience or plus_from != "best" or merge):
        raise ValueError("symmetric walk: patience, plus_from and merge are the packed walker's")
    if ring == "gf2":
        products = [tuple(tuple(a % 2 for a in v) for v in prod) for prod in products]
        max_coefficient = 1
    n = math.isqrt(len(products[0][0]))
    if any(len(v) != n * n for prod in products for v in prod):
        raise ValueError("symmetric walk: only square formats <n,n,n> have the symmetry")
    fixed, representatives = orbits(products, n)
    rank = len(products)
    if not (n * n <= MAX_LENGTH and len(fixed) <= MAX_FIXED and 3 * len(representatives) + 3
            <= MAX_RANK and 1 <= max_coefficient <= MAX_BOUND and 1 <= target and samples >= 1
            and sample_every >= 1 and plateau >= 1
            and all(abs(a) <= max_coefficient for prod in products for v in prod for a in v)):
        raise ValueError(f"symmetric walk out of range: n*n = {n * n} (<= {MAX_LENGTH}), "
                         f"{len(fixed)} fixed products (<= {MAX_FIXED}), "
                         f"{len(representatives)} orbits (3 per orbit + 3 <= {MAX_RANK}), "
                         f"bound {max_coefficient} (1..{MAX_BOUND}, every entry within it)")
    buffers = Buffers(3 * n * n, rank, target, samples)
    if packed:
        if len(representatives) >= MAX_PACKED_ORBITS or patience < 0:
            raise ValueError(f"symmetric walk out of range: {len(representatives)} orbits "
                             f"(< {MAX_PACKED_ORBITS} packed), patience {patience} (>= 0)")
        status = library().bl_symmetric_walk_packed(
            n, len(fixed), FFI.new("int16_t[]", [a for x in fixed for a in x] or [0]),
            len(representatives),
            FFI.new("int16_t[]", [a for p in representatives for v in p for a in v] or [0]),
            target, seed % 2**64, max_flips, plateau, patience, int(plus_from == "any"),
            int(merge), samples, sample_every, *buffers.outputs())
        if status:
            raise ValueError("symmetric walk refused its arguments")
        return buffers.result((n * n, n * n, n * n))
    status = library().bl_symmetric_walk(
        n, len(fixed), FFI.new("int16_t[]", [a for x in fixed for a in x] or [0]),
        len(representatives),
        FFI.new("int16_t[]", [a for p in representatives for v in p for a in v] or [0]),
        target, seed % 2**64, max_flips, plateau, samples, sample_every, max_coefficient,
        int(ring == "gf2"), FIXED_MOVES.index(fixed_moves), *buffers.outputs())
    if status:
        raise ValueError("symmetric walk refused its arguments")
    return buffers.result((n * n, n * n, n * n))


@dataclass
class SymmetricSearch:
    """One symmetric walk from the standard algorithm and what came of it: the exact schemes
    (lifted over gf2) among its samples at the target rank, lift counts, and process seconds
    (walk, verification and lifting; walk_seconds: the walk's alone)."""

    walk: WalkResult
    schemes: list[Scheme] = field(default_factory=list)
    lift: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    walk_seconds: float = 0.0


def search(n: int, target: int, seed: int, max_flips: int, plateau: int, ring: str = "integer",
           samples: int = 1, sample_every: int = 10_000, max_coefficient: int = 1,
           lift_steps: int = 19, fixed_moves: str | None = None, cubes=None,
           packed: bool = False, patience: int = 0, plus_from: str = "best",
           merge: bool = False) -> SymmetricSearch:
    """A symmetric walk on <n,n,n> toward `target` (see walk) from the standard algorithm, or
    with cubes (a partition of range(n)) from cube_start; its samples at the target, if it got
    there, are verified exactly, over gf2 after lifting (bilinear.algebra.lift; attempts and
    failures counted in `lift`)."""
    clock = time.process_time()
    fmt = (n, n, n)
    start = standard(fmt) if cubes is None else cube_start(n, cubes)
    result = walk(start, target, seed, max_flips, plateau, samples, sample_every,
                  max_coefficient, ring, fixed_moves, packed, patience, plus_from, merge)
    out = SymmetricSearch(result, walk_seconds=time.process_time() - clock)
    for k, products in enumerate(result.samples):
        provenance = {"method": f"symmetric flip-graph walk ({ring})", "seed": seed,
                      "sample": k, "max_coefficient": max_coefficient}
        if cubes is not None or packed:
            provenance.update(cubes=None if cubes is None else [list(p) for p in cubes],
                              packed=packed)
        scheme = exact_scheme(fmt, products, ring, lift_steps, provenance, out.lift)
        if scheme is not None:
            out.schemes.append(scheme)
    out.seconds = time.process_time() - clock
    return out
