"""The refined fingerprint: invariant under the symmetries (sandwich, permutation and scaling,
transposition, rotation) and finer than the profile (it separates, hence certifies as
inequivalent, schemes the profile lumps)."""

from __future__ import annotations

import numpy as np
import pytest

from bilinear.algebra.fingerprint import exact_rank, profile
from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.invariants import int_rank, refined_fingerprint
from bilinear.algebra.schemes import Scheme, verify
from bilinear.search.discover import to_scheme
from bilinear.search.flips import search
from tests.test_fingerprint import NPZ, _sandwich


def test_int_rank_matches_exact_rank():
    rng = np.random.default_rng(3)
    for _ in range(200):
        shape = tuple(int(x) for x in rng.integers(1, 6, size=2))
        M = rng.integers(-2, 3, size=shape) * (rng.random(shape) < 0.6)
        assert int_rank(M.tolist()) == exact_rank(M)


@pytest.mark.parametrize("key", ["2x2x2", "2x3x4", "3x3x3"])
def test_invariant_under_sandwich_and_permutation(key):
    scheme = load_npz_scheme(NPZ, key)
    rng = np.random.default_rng(11)
    for _ in range(2):
        moved = _sandwich(scheme, rng)
        assert verify(moved) and refined_fingerprint(moved) == refined_fingerprint(scheme)


def _transpose(s: Scheme) -> Scheme:
    n = s.fmt[0]
    U = np.array([s.V[r].reshape(n, n).T.reshape(-1) for r in range(s.rank)])
    V = np.array([s.U[r].reshape(n, n).T.reshape(-1) for r in range(s.rank)])
    W = np.array([s.W[:, r].reshape(n, n).T.reshape(-1) for r in range(s.rank)]).T
    return Scheme(s.fmt, U, V, W)


def _rotate(s: Scheme) -> Scheme:
    """The cyclic symmetry (a, b, c) -> (c^T, a, b^T) of a square format."""
    n = s.fmt[0]
    U = np.array([s.W[:, r].reshape(n, n).T.reshape(-1) for r in range(s.rank)])
    V = np.array([s.U[r] for r in range(s.rank)])
    W = np.array([s.V[r].reshape(n, n).T.reshape(-1) for r in range(s.rank)]).T
    return Scheme(s.fmt, U, V, W)


def test_invariant_under_transposition_and_rotation():
    s = load_npz_scheme(NPZ, "3x3x3")
    for moved in (_transpose(s), _rotate(s), _rotate(_rotate(_transpose(s)))):
        assert verify(moved) and refined_fingerprint(moved) == refined_fingerprint(s)


def test_refinement_separates_schemes_the_profile_lumps():
    # <3,3,3>:23 schemes of one walk, grouped by the profile: within a group, different refined
    # fingerprints certify inequivalence that the profile alone cannot see
    walk = search((3, 3, 3), 23, seed=4, max_flips=3_000_000, plateau=5000, samples=40,
                  sample_every=3000)
    groups: dict = {}
    for products in walk.samples:
        scheme = to_scheme((3, 3, 3), products, {})
        assert verify(scheme)
        groups.setdefault(profile(scheme), set()).add(refined_fingerprint(scheme))
    assert any(len(prints) > 1 for prints in groups.values())


@pytest.mark.parametrize("fmt,rank", [((2, 2, 3), 11), ((2, 3, 3), 15), ((2, 3, 2), 11),
                                      ((3, 3, 3), 23)])
def test_invariant_under_every_role_map_that_keeps_the_format(fmt, rank):
    from bilinear.algebra.equivalence_search import ROLE_MAPS, role_format, role_map
    from bilinear.algebra.fingerprint import fingerprint

    for seed in range(3):
        w = search(fmt, rank, seed, 300_000, 20000, 1, 20000)
        scheme = to_scheme(fmt, w.products, {})
        for role in ROLE_MAPS:
            if role_format(fmt, *role) == fmt:
                moved = role_map(scheme, *role)
                assert verify(moved)
                assert refined_fingerprint(moved) == refined_fingerprint(scheme)
                assert fingerprint(moved) == fingerprint(scheme)
