"""Flip-graph random walks: schemes of lower rank from the standard algorithm, by exact moves.

A scheme is a list of products (x, y, z) of integer vectors (the A-, B- and C-coefficients of one
product, in the project's convention), whose tensor sum_r x_r (x) y_r (x) z_r is the <n,m,p>
tensor.  The walk (Kauers and Moosbauer, "Flip graphs for matrix multiplication", 2022) changes the
products but never the tensor:

- a *flip* takes two products that share a factor in one role, x_i = x_j = x, and rewrites
  x (x) y_i (x) z_i + x (x) y_j (x) z_j = x (x) (y_i + s y_j) (x) z_i + x (x) y_j (x) (z_j - s z_i);
- a *reduction* merges two products that share factors in two roles (x (x) y (x) (z_i + z_j)) or
  drops a product with a zero factor, lowering the rank by one;
- a *plus transition* (when no reduction has come for a while) splits two products into three,
  x (x) y (x) z + x' (x) y' (x) z' = (x - x') (x) y (x) z + x' (x) (y - y') (x) z
  + x' (x) y' (x) (z + z') (the roles taken in a random order), so the walk can leave a dead
  end.

Every move keeps coefficients within +-max_coefficient (1: ternary schemes) or is not made.
Factors equal up to sign count as shared (the sign is moved into another role first).  With
ring "gf2" the same moves run over GF(2) (entries 0/1, sums taken mod 2, where -1 = 1): the
schemes are then exact modulo 2 only, and bilinear.algebra.lift decides whether they lift to
the integers.  The walk
itself runs in C (flips.c, compiled with gcc on first use into the user's cache folder,
bilinear.io.cache_dir, keyed by the source hash); it uses an integer PRNG (xoshiro256** seeded
by splitmix64), so a seed gives the same schemes on any machine or executor.  Nothing it
returns is trusted: callers verify every scheme exactly (bilinear.search.discover.run_task).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cffi

from bilinear.io import cache_dir

Vec = tuple[int, ...]
Product = tuple[Vec, Vec, Vec]

SOURCE = Path(__file__).with_name("flips.c")
CDEF = """
int bl_flip_walk(const int *lens, int rank, const int16_t *start, int target, uint64_t seed,
                 int64_t max_flips, int64_t plateau, int samples,
                 int64_t sample_every, int bound, int mod2, int16_t *best, int16_t *last,
                 int16_t *sample_out, int64_t *stats);
int bl_symmetric_walk(int n, int fixed, const int16_t *fixed_x, int orbits,
                      const int16_t *representatives, int target, uint64_t seed,
                      int64_t max_flips, int64_t plateau, int samples, int64_t sample_every,
                      int bound, int mod2, int fixed_moves, int16_t *best, int16_t *last,
                      int16_t *sample_out, int64_t *stats);
int bl_symmetric_walk_packed(int n, int fixed, const int16_t *fixed_x, int orbits,
                             const int16_t *representatives, int target, uint64_t seed,
                             int64_t max_flips, int64_t plateau, int64_t patience, int plus_any,
                             int merge, int samples, int64_t sample_every, int16_t *best,
                             int16_t *last, int16_t *sample_out, int64_t *stats);
"""
CFLAGS = ["-O2", "-std=c11", "-fPIC", "-shared"]
MAX_LENGTH, MAX_RANK, MAX_BOUND, MAX_FIXED = 64, 512, 16000, 64   # the C walker's limits
MAX_PACKED_ORBITS = 170   # the packed symmetric walker's orbits are fewer (PMAXO in flips.c)
FFI = cffi.FFI()   # the C walker's interface (library() loads it)
FFI.cdef(CDEF)
_LIB = None


def standard(fmt: tuple[int, int, int]) -> list[Product]:
    """The standard algorithm's n*m*p products, one per (i, j, k)."""
    n, m, p = fmt
    out = []
    for i in range(n):
        for j in range(m):
            for k in range(p):
                x = tuple(int(t == i * m + j) for t in range(n * m))
                y = tuple(int(t == j * p + k) for t in range(m * p))
                z = tuple(int(t == i * p + k) for t in range(n * p))
                out.append((x, y, z))
    return out


@dataclass
class WalkResult:
    """What one walk found: the lowest-rank products reached (first and latest) and the schemes
    sampled at the target."""

    products: list[Product]
    flips: int
    plus: int
    reached_at: int | None          # flip count when the target rank was first reached
    samples: list[list[Product]] = field(default_factory=list)
    last: list[Product] = field(default_factory=list)   # the latest scheme at the lowest rank


def library():
    """The compiled C walkers, bl_flip_walk and bilinear.search.symmetric's bl_symmetric_walk and
    bl_symmetric_walk_packed (built with gcc into the cache folder on first use, keyed by the
    source hash)."""
    global _LIB
    if _LIB is None:
        source = SOURCE.read_bytes()
        key = hashlib.sha256(source + " ".join(CFLAGS).encode()).hexdigest()[:16]
        build = cache_dir("flips")
        path = build / f"flips-{key}.so"
        if not path.exists():
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=build)
            os.close(fd)
            try:
                subprocess.run(["gcc", *CFLAGS, "-o", tmp, str(SOURCE)], check=True,
                               capture_output=True)
                os.replace(tmp, path)   # atomic: concurrent first uses do not clash
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        _LIB = FFI.dlopen(str(path))
    return _LIB


def _rows(products: list[Product]) -> list[int]:
    return [a for prod in products for v in prod for a in v]


def _products(values, rank: int, lens: tuple[int, int, int]) -> list[Product]:
    width = sum(lens)
    out = []
    for r in range(rank):
        row = values[r * width:(r + 1) * width]
        out.append((tuple(row[:lens[0]]), tuple(row[lens[0]:lens[0] + lens[1]]),
                    tuple(row[lens[0] + lens[1]:])))
    return out


RINGS = ("integer", "gf2")


def walk(products: list[Product], target: int, seed: int, max_flips: int, plateau: int,
         samples: int, sample_every: int, max_coefficient: int = 1,
         ring: str = "integer") -> WalkResult:
    """The C walk from `products` (entries within +-max_coefficient; over "gf2" they are taken
    mod 2 and the bound is 1); see search."""
    if ring not in RINGS:
        raise ValueError(f"flip walk: ring must be one of {RINGS}, got {ring!r}")
    if ring == "gf2":
        products = [tuple(tuple(a % 2 for a in v) for v in prod) for prod in products]
        max_coefficient = 1
    lens = tuple(len(v) for v in products[0])
    if not (1 <= min(lens) and max(lens) <= MAX_LENGTH and 1 <= len(products) < MAX_RANK
            and 1 <= max_coefficient <= MAX_BOUND and 1 <= target and samples >= 1
            and sample_every >= 1 and plateau >= 1
            and all(abs(a) <= max_coefficient for a in _rows(products))):
        raise ValueError(f"flip walk out of range: factor lengths {lens} (1..{MAX_LENGTH}), "
                         f"{len(products)} products (< {MAX_RANK}), bound {max_coefficient} "
                         f"(1..{MAX_BOUND}, every entry within it)")
    width, rank = sum(lens), len(products)
    buffers = Buffers(width, rank, target, samples)
    status = library().bl_flip_walk(FFI.new("int[3]", list(lens)), rank,
                                    FFI.new("int16_t[]", _rows(products)), target, seed % 2**64,
                                    max_flips, plateau, samples, sample_every, max_coefficient,
                                    int(ring == "gf2"), *buffers.outputs())
    if status:
        raise ValueError("flip walk refused its arguments")
    return buffers.result(lens)


class Buffers:
    """The C walk's output buffers for a start of `rank` products (best, last, samples and
    stats), and the WalkResult they hold afterwards."""

    def __init__(self, width: int, rank: int, target: int, samples: int):
        self.width, self.target, self.samples = width, target, samples
        self.best = FFI.new("int16_t[]", width * rank)
        self.last = FFI.new("int16_t[]", width * rank)
        self.kept = FFI.new("int16_t[]", width * target * samples)
        self.stats = FFI.new("int64_t[5]")

    def outputs(self) -> tuple:
        """The buffers in the order of the C entry points' last four arguments."""
        return self.best, self.last, self.kept, self.stats

    def result(self, lens: tuple[int, int, int]) -> WalkResult:
        """The walk's products, counts and samples, read back from the buffers."""
        flips, plus, reached, best_rank, n_kept = (int(v) for v in self.stats)
        width, target = self.width, self.target
        values = list(FFI.unpack(self.kept, width * target * self.samples))
        return WalkResult(
            _products(list(FFI.unpack(self.best, width * best_rank)), best_rank, lens), flips,
            plus, None if reached < 0 else reached,
            [_products(values[k * width * target:], best_rank, lens) for k in range(n_kept)],
            _products(list(FFI.unpack(self.last, width * best_rank)), best_rank, lens))


def search(fmt: tuple[int, int, int], target: int, seed: int, max_flips: int,
           plateau: int, samples: int, sample_every: int, max_coefficient: int = 1,
           ring: str = "integer") -> WalkResult:
    """Walk from the standard algorithm down to `target` products within `max_flips` flips.

    Reductions are applied whenever a move enables one; after `plateau` flips without one, a
    plus transition is made, but only at the lowest rank reached so far (so the walk is never
    more than one product above its best, nor above the standard rank).
    Once the rank is at or below `target`, the walk goes on flipping at that rank and keeps
    `samples` schemes, one every `sample_every` flips from its arrival (schemes of lower rank
    replace them).  Returns the lowest-rank products reached."""
    return walk(standard(fmt), target, seed, max_flips, plateau, samples, sample_every,
                max_coefficient, ring)
