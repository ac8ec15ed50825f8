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
standard algorithm the rank stays n modulo 3 (<3,3,3> cannot reach 23).  The walk
is deterministic per seed on any machine (the PRNG of flips.c), and nothing it returns is
trusted: search verifies every scheme exactly, lifting GF(2) ones first
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


def walk(products: list[Product], target: int, seed: int, max_flips: int, plateau: int,
         samples: int, sample_every: int, max_coefficient: int = 1,
         ring: str = "integer", fixed_moves: str = "free") -> WalkResult:
    """The symmetric walk (see the module) from a symmetric scheme of a square format, with the
    arguments and result of flips.walk (plus fixed_moves, one of FIXED_MOVES): ranks and samples
    count full products, and every scheme returned is symmetric, its fixed products first, then
    the orbits' three each."""
    if ring not in RINGS:
        raise ValueError(f"symmetric walk: ring must be one of {RINGS}, got {ring!r}")
    if fixed_moves not in FIXED_MOVES:
        raise ValueError(f"symmetric walk: fixed_moves must be one of {FIXED_MOVES}, "
                         f"got {fixed_moves!r}")
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
    (walk, verification and lifting)."""

    walk: WalkResult
    schemes: list[Scheme] = field(default_factory=list)
    lift: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def search(n: int, target: int, seed: int, max_flips: int, plateau: int, ring: str = "integer",
           samples: int = 1, sample_every: int = 10_000, max_coefficient: int = 1,
           lift_steps: int = 19, fixed_moves: str = "free") -> SymmetricSearch:
    """A symmetric walk on <n,n,n> from the standard algorithm toward `target` (see walk); its
    samples at the target, if it got there, are verified exactly, over gf2 after lifting
    (bilinear.algebra.lift; attempts and failures counted in `lift`)."""
    clock = time.process_time()
    fmt = (n, n, n)
    result = walk(standard(fmt), target, seed, max_flips, plateau, samples, sample_every,
                  max_coefficient, ring, fixed_moves)
    out = SymmetricSearch(result)
    for k, products in enumerate(result.samples):
        provenance = {"method": f"symmetric flip-graph walk ({ring})", "seed": seed,
                      "sample": k, "max_coefficient": max_coefficient}
        scheme = exact_scheme(fmt, products, ring, lift_steps, provenance, out.lift)
        if scheme is not None:
            out.schemes.append(scheme)
    out.seconds = time.process_time() - clock
    return out
