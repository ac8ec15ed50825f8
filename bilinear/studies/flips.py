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
  + x' (x) y' (x) (z + z'), so the walk can leave a dead end.

Every move keeps coefficients within +-max_coefficient (1: ternary schemes) or is not made.  The
walk is a pure function of its arguments (Python's seeded Random), so a seed gives the same
schemes on any machine or executor.  Factors equal up to sign count as shared (the sign is moved
into another role first).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

Vec = tuple[int, ...]
Product = tuple[Vec, Vec, Vec]


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


def _signed(v: Vec) -> tuple[Vec, int]:
    """The vector with its first nonzero entry positive, and the sign that was removed."""
    for t in v:
        if t:
            return (v, 1) if t > 0 else (tuple(-a for a in v), -1)
    return v, 1


def _add(u: Vec, v: Vec, s: int = 1) -> Vec:
    return tuple(a + s * b for a, b in zip(u, v, strict=True))


def _neg(v: Vec) -> Vec:
    return tuple(-a for a in v)


def _within(v: Vec, bound: int) -> bool:
    return all(-bound <= a <= bound for a in v)


def _zero(v: Vec) -> bool:
    return not any(v)


@dataclass
class WalkResult:
    """What one walk found: the lowest-rank products reached and the schemes sampled at it."""

    products: list[Product]
    flips: int
    plus: int
    reached_at: int | None          # flip count when the target rank was first reached
    samples: list[list[Product]] = field(default_factory=list)


class Walk:
    """A seeded random walk on the flip graph of one format."""

    def __init__(self, products: list[Product], seed: int, max_coefficient: int = 1):
        self.products = list(products)
        self.keys = [tuple(_signed(v) for v in prod) for prod in self.products]
        self.rng = random.Random(seed)
        self.bound = max_coefficient

    def _set(self, r: int, prod: Product) -> None:
        self.products[r] = prod
        self.keys[r] = tuple(_signed(v) for v in prod)

    def _delete(self, r: int) -> None:
        del self.products[r]
        del self.keys[r]

    def _groups(self, role: int) -> list[list[tuple[int, int]]]:
        """Indices (with signs) of products whose factor in `role` is equal up to sign."""
        seen: dict[Vec, list[tuple[int, int]]] = {}
        for r, keys in enumerate(self.keys):
            key, sign = keys[role]
            seen.setdefault(key, []).append((r, sign))
        return [g for g in seen.values() if len(g) > 1]

    def _align(self, i: int, j: int, role: int, s: int) -> None:
        """Make product j's factor in `role` equal product i's (moving the sign s elsewhere)."""
        if s == 1:
            return
        prod = list(self.products[j])
        other = (role + 1) % 3
        prod[role], prod[other] = _neg(prod[role]), _neg(prod[other])
        self._set(j, tuple(prod))

    def flip(self) -> bool:
        """One random flip; False if none is possible or it would leave the coefficient bound."""
        candidates = [(role, g) for role in range(3) for g in self._groups(role)]
        if not candidates:
            return False
        role, group = self.rng.choice(candidates)
        (i, si), (j, sj) = self.rng.sample(group, 2)
        self._align(i, j, role, si * sj)
        a, b = [r for r in range(3) if r != role]
        if self.rng.random() < 0.5:
            a, b = b, a
        s = self.rng.choice((1, -1))
        pi, pj = list(self.products[i]), list(self.products[j])
        new_a = _add(pi[a], pj[a], s)          # y_i + s y_j
        new_b = _add(pj[b], pi[b], -s)         # z_j - s z_i
        if not (_within(new_a, self.bound) and _within(new_b, self.bound)):
            return False
        pi[a], pj[b] = new_a, new_b
        self._set(i, tuple(pi))
        self._set(j, tuple(pj))
        return True

    def reduce(self) -> bool:
        """Apply one reduction if any exists (zero factor, or two shared roles); True if done."""
        for r, prod in enumerate(self.products):
            if any(_zero(v) for v in prod):
                self._delete(r)
                return True
        for keep in range(3):
            pair = [t for t in range(3) if t != keep]
            seen: dict[tuple, tuple[int, int, int]] = {}
            for r, prod in enumerate(self.products):
                (k1, s1), (k2, s2) = self.keys[r][pair[0]], self.keys[r][pair[1]]
                key = (k1, k2)
                if key in seen:
                    q, t1, t2 = seen[key]
                    # product r = s1 s2 * (k1, k2, z_r); product q = t1 t2 * (k1, k2, z_q)
                    z = _add(_neg(prod[keep]) if s1 * s2 < 0 else prod[keep],
                             _neg(self.products[q][keep]) if t1 * t2 < 0
                             else self.products[q][keep])
                    if not _within(z, self.bound):
                        continue
                    merged = [None, None, None]
                    merged[pair[0]], merged[pair[1]], merged[keep] = k1, k2, z
                    self._set(q, tuple(merged))
                    self._delete(r)
                    return True
                seen[key] = (r, s1, s2)
        return False

    def plus(self) -> bool:
        """One plus transition (rank + 1); False if it would leave the coefficient bound."""
        i, j = self.rng.sample(range(len(self.products)), 2)
        (x, y, z), (x2, y2, z2) = self.products[i], self.products[j]
        new = [(_add(x, x2, -1), y, z), (x2, _add(y, y2, -1), z), (x2, y2, _add(z, z2))]
        if not all(_within(v, self.bound) for prod in new for v in prod):
            return False
        for r in sorted((i, j), reverse=True):
            self._delete(r)
        for prod in new:
            self.products.append(prod)
            self.keys.append(tuple(_signed(v) for v in prod))
        return True


def search(fmt: tuple[int, int, int], target: int, seed: int, max_flips: int,
           plateau: int, samples: int, sample_every: int, max_coefficient: int = 1,
           ) -> WalkResult:
    """Walk from the standard algorithm down to `target` products within `max_flips` flips.

    Reductions are applied whenever possible; after `plateau` flips without one, a plus transition
    is made (at most one product above the standard rank).  Once the rank is at or below
    `target`, the walk goes on flipping at that rank and keeps `samples` schemes, one every
    `sample_every` flips (schemes of lower rank replace them).  Returns the lowest-rank products
    reached."""
    walk = Walk(standard(fmt), seed, max_coefficient)
    top = len(walk.products)
    best = list(walk.products)
    flips = plus = since = 0
    reached = None
    kept: list[list[Product]] = []
    while flips < max_flips:
        while walk.reduce():
            since = 0
        rank = len(walk.products)
        if rank < len(best):
            best = list(walk.products)
            if rank <= target:
                reached = flips if reached is None else reached
                kept = []
        if rank <= target:
            if len(kept) >= samples:
                break
            if flips % sample_every == 0 and rank == len(best):
                kept.append(list(walk.products))
        elif since >= plateau and rank <= top:
            plus += walk.plus()
            since = 0
        if walk.flip():
            since += 1
        flips += 1
    return WalkResult(best, flips, plus, reached, kept)
