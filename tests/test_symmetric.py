"""Z3-symmetric flip-graph walks: the action sigma(a, b, c) = (b, c^T, a^T) maps the matmul tensor
to itself, the standard algorithm's orbits, walks that keep every scheme symmetric and reach
Strassen's rank and <3,3,3>:23 (over GF(2) after lifting), determinism per seed, pooled
search with symmetric walks, and starts from diagonal cubes with the packed GF(2) walker."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bilinear.algebra.formats.project_json import scheme_from_dict
from bilinear.algebra.schemes import matmul_tensor, strassen, valid_modulo_2, verify
from bilinear.search import symmetric
from bilinear.search.discover import to_scheme
from bilinear.search.flips import standard
from bilinear.search.pool import PoolSearch, pooled_search, symmetric_walks
from bilinear.search.symmetric import cube_start, expand, orbits, rotate, tensor_key


def _tensor(products, n):
    return sum(np.einsum("i,j,k->ijk", *map(np.array, p)) for p in products)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_sigma_maps_the_matmul_tensor_to_itself(n):
    products = standard((n, n, n))
    assert (_tensor(products, n) == matmul_tensor(n, n, n)).all()
    assert (_tensor([rotate(p, n) for p in products], n) == matmul_tensor(n, n, n)).all()
    rng = np.random.default_rng(n)
    p = tuple(tuple(int(x) for x in rng.integers(-2, 3, n * n)) for _ in range(3))
    assert rotate(rotate(rotate(p, n), n), n) == p and rotate(p, n) != p


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_standard_algorithm_has_n_fixed_products_and_orbits_of_three(n):
    fixed, representatives = orbits(standard((n, n, n)), n)
    diagonal = {tuple(int(t == i * n + i) for t in range(n * n)) for i in range(n)}
    assert len(fixed) == n and set(fixed) == diagonal
    assert len(representatives) == (n ** 3 - n) // 3
    full = expand(fixed, representatives, n)
    assert sorted(map(tensor_key, full)) == sorted(map(tensor_key, standard((n, n, n))))


def test_strassen_is_symmetric_and_a_scheme_not_invariant_is_refused():
    s = strassen()
    products = [(tuple(map(int, s.U[r])), tuple(map(int, s.V[r])), tuple(map(int, s.W[:, r])))
                for r in range(7)]
    fixed, representatives = orbits(products, 2)
    assert (len(fixed), len(representatives)) == (1, 2)
    with pytest.raises(ValueError, match="not invariant"):
        orbits(standard((2, 2, 2))[2:], 2)   # (0, 1, 0) and (1, 0, 0) without (0, 0, 1)
    with pytest.raises(ValueError, match="square"):
        symmetric.walk(standard((2, 2, 3)), 11, 0, 100, 10, 1, 1)
    with pytest.raises(ValueError, match="fixed_moves"):
        symmetric.walk(standard((2, 2, 2)), 7, 0, 100, 10, 1, 1, fixed_moves="all")


def test_without_fixed_moves_integer_walks_keep_the_fixed_products():
    found = symmetric.search(3, 23, seed=0, max_flips=100_000, plateau=2000,
                             fixed_moves="none")
    fixed, _ = orbits(found.walk.last, 3)
    assert sorted(fixed) == sorted(orbits(standard((3, 3, 3)), 3)[0])
    assert len(found.walk.products) % 3 == 0 and not found.schemes   # 23 is out of reach


def _symmetric_and_exact(products, n, ring):
    if ring == "gf2":
        products = [tuple(tuple(a % 2 for a in v) for v in p) for p in products]
    orbits(products, n)   # raises unless sigma permutes the products
    scheme = to_scheme((n, n, n), products, {})
    return verify(scheme) if ring == "integer" else valid_modulo_2(scheme)


@pytest.mark.parametrize("ring", ["integer", "gf2"])
def test_walk_reaches_strassens_rank_and_stays_symmetric(ring):
    for seed in range(3):
        w = symmetric.walk(standard((2, 2, 2)), 7, seed, 200_000, 2000, 3, 100, ring=ring)
        assert len(w.products) == 7 and w.reached_at is not None
        assert all(_symmetric_and_exact(p, 2, ring) for p in [w.products, w.last, *w.samples])
        fixed, representatives = orbits([tuple(tuple(a % 2 for a in v) for v in p)
                                         for p in w.products], 2)
        assert (len(fixed), len(representatives)) == (1, 2)


def test_integer_walk_on_333_reaches_23_exactly():
    found = symmetric.search(3, 23, seed=0, max_flips=200_000, plateau=5000, samples=2,
                             sample_every=500)
    assert len(found.walk.products) == 23
    assert found.schemes and all(verify(s) and s.rank == 23 for s in found.schemes)
    assert all(_symmetric_and_exact(p, 3, "integer") for p in found.walk.samples)
    assert not found.lift


def test_gf2_walk_on_333_reaches_23_and_lifts():
    found = symmetric.search(3, 23, seed=1, max_flips=100_000, plateau=5000, ring="gf2")
    assert len(found.walk.products) == 23 and _symmetric_and_exact(found.walk.products, 3, "gf2")
    assert found.lift["attempts"] == 1
    if found.lift["lifted"]:
        assert verify(found.schemes[0]) and found.schemes[0].rank == 23
    else:   # a failure is counted, and no scheme returned
        assert not found.schemes and sum(found.lift.values()) == 2


def test_walk_is_deterministic_for_a_seed():
    def run(seed):
        w = symmetric.walk(standard((3, 3, 3)), 23, seed, 30_000, 2000, 2, 500, ring="gf2")
        return w.products, w.last, w.samples, w.flips, w.plus, w.reached_at
    assert run(4) == run(4)
    assert run(4) != run(5)


def test_pooled_search_with_symmetric_walks():
    cfg = PoolSearch("integer", walkers=2, pool_size=4, round_flips=100_000, max_rounds=20,
                     plateau=2000, samples=2, sample_every=500, max_coefficient=1,
                     lift_steps=19, symmetric=True)
    assert symmetric_walks((3, 3, 3), cfg) and not symmetric_walks((2, 2, 3), cfg)
    for fmt, target in [((2, 2, 2), 7), ((3, 3, 3), 23)]:
        runs = pooled_search(fmt, target, [1], cfg, workers=1)
        assert runs[0].rank == target and runs[0].schemes
        for text in runs[0].schemes.values():
            assert verify(scheme_from_dict(json.loads(text)))
        for products in runs[0].pool:
            orbits(products, fmt[0])



@pytest.mark.parametrize("n, parts", [(3, [(0,), (1,), (2,)]), (3, [(0, 2), (1,)]),
                                      (4, [(0, 1, 2, 3)]), (5, [(0, 4), (1, 3), (2,)])])
def test_cube_start_is_an_exact_symmetric_scheme(n, parts):
    products = cube_start(n, parts)
    assert verify(to_scheme((n, n, n), products, {}))
    fixed, representatives = orbits(products, n)
    assert sorted(fixed) == sorted(tuple(int(t in {i * n + i for i in p}) for t in range(n * n))
                                   for p in parts)
    if all(len(p) == 1 for p in parts):
        assert sorted(map(tensor_key, products)) == sorted(map(tensor_key, standard((n,) * 3)))
    else:   # 3 + 3 * 44 = 135 at <5,5,5> with the parts of Moosbauer and Poole's 93
        assert len(products) == n ** 3 - n + len(parts) + sum(len(p) ** 3 - len(p) for p in parts)
    with pytest.raises(ValueError, match="partition"):
        cube_start(n, parts[1:])


def _packed(products, n, target, seed, flips=200_000, plateau=2000, **kw):
    w = symmetric.walk(products, target, seed, flips, plateau, 2, 100, ring="gf2", packed=True,
                       **kw)
    for p in [w.products, w.last, *w.samples]:
        assert _symmetric_and_exact(p, n, "gf2")
    return w


@pytest.mark.parametrize("merge", [False, True])
def test_packed_walk_keeps_the_fixed_products_and_is_deterministic(merge):
    start = standard((3, 3, 3))
    w = _packed(start, 3, 23, seed=0, merge=merge)
    fixed, _ = orbits([tuple(tuple(a % 2 for a in v) for v in p) for p in w.products], 3)
    assert sorted(fixed) == sorted(orbits(start, 3)[0])   # kept, so rank = 3 + 3 * orbits
    assert len(w.products) % 3 == 0 and len(w.products) < 27 and w.reached_at is None

    def run(seed):
        w = _packed(cube_start(4, [(0, 1, 2, 3)]), 4, 49, seed, plus_from="any", merge=merge)
        return w.products, w.last, w.samples, w.flips, w.plus, w.reached_at
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_packed_walk_reaches_333_23_and_444_49_from_cubes():
    for n, target, parts in [(3, 23, [(0, 2), (1,)]), (4, 49, [(0, 1, 2, 3)])]:
        for seed in range(2):
            w = _packed(cube_start(n, parts), n, target, seed, flips=2_000_000,
                        plus_from="any", patience=1_000_000)
            assert len(w.products) == target and w.reached_at is not None and w.samples
            fixed, _ = orbits([tuple(tuple(a % 2 for a in v) for v in p) for p in w.samples[0]],
                              n)
            assert len(fixed) == len(parts)
    found = symmetric.search(3, 23, seed=0, max_flips=200_000, plateau=2000, ring="gf2",
                             cubes=[(0, 2), (1,)], packed=True)
    assert len(found.walk.products) == 23 and found.lift["attempts"] == 1
    assert all(verify(s) and s.rank == 23 for s in found.schemes)


def test_packed_walk_refuses_what_it_does_not_do():
    with pytest.raises(ValueError, match="packed walker runs over gf2"):
        symmetric.walk(standard((2, 2, 2)), 7, 0, 100, 10, 1, 1, packed=True)
    with pytest.raises(ValueError, match="packed walker runs over gf2"):
        symmetric.walk(standard((2, 2, 2)), 7, 0, 100, 10, 1, 1, ring="gf2", packed=True,
                       fixed_moves="free")
    with pytest.raises(ValueError, match="packed walker's"):
        symmetric.walk(standard((2, 2, 2)), 7, 0, 100, 10, 1, 1, ring="gf2", patience=10)
