"""Tests for bilinear.algebra.equivalence: witnesses to Strassen's scheme, found and replayed."""

from __future__ import annotations

import json
import random
from fractions import Fraction

import numpy as np
import pytest

from bilinear.algebra.equivalence import (
    ROLE_MAPS,
    apply_witness,
    equivalence_witness,
    equivalent_to_strassen,
)
from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.schemes import Scheme, naive, strassen, verify
from tests.test_schemes import known_schemes_npz


def winograd() -> Scheme:
    """Winograd's 15-addition variant of Strassen's scheme, products m1..m7."""
    U = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, -1, -1], [0, 0, 0, 1], [0, 0, 1, 1],
         [-1, 0, 1, 1], [1, 0, -1, 0]]
    V = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, -1, -1, 1], [-1, 1, 0, 0],
         [1, -1, 0, 1], [0, -1, 0, 1]]
    W = [[1, 1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 1, 0], [1, 0, 0, -1, 0, 1, 1],
         [1, 0, 0, 0, 1, 1, 1]]
    return Scheme((2, 2, 2), U, V, W, {"source": "Winograd 1971"})


def _random_invertible(rng: random.Random) -> list[list[str]]:
    while True:
        M = [[Fraction(rng.randint(-3, 3), rng.choice([1, 1, 2])) for _ in range(2)]
             for _ in range(2)]
        if M[0][0] * M[1][1] - M[0][1] * M[1][0] != 0:
            return [[str(x) for x in row] for row in M]


def random_symmetry(scheme: Scheme, seed: int) -> Scheme:
    """scheme under a random role map, rational sandwich, slot permutation and rescaling."""
    rng = random.Random(seed)
    t, k = ROLE_MAPS[rng.randrange(len(ROLE_MAPS))]
    perm = list(range(scheme.rank))
    rng.shuffle(perm)
    witness = {"role": {"cyclic": k, "transpose": bool(t)},
               "P": _random_invertible(rng), "Q": _random_invertible(rng),
               "R": _random_invertible(rng), "permutation": perm,
               "scales": [[rng.choice([1, -1, 2, -3]), rng.choice(["1", "-1", "3/2", "1/2"])]
                          for _ in perm]}
    return apply_witness(scheme, witness)


def _same(x: Scheme, y: Scheme) -> bool:
    return all(np.array_equal(getattr(x, t), getattr(y, t)) for t in "UVW")


@pytest.mark.parametrize("t, k", ROLE_MAPS)
def test_role_maps_preserve_correctness(t, k):
    identity = [[1, 0], [0, 1]]
    witness = {"role": {"cyclic": k, "transpose": bool(t)}, "P": identity, "Q": identity,
               "R": identity, "permutation": list(range(7)), "scales": [[1, 1]] * 7}
    assert verify(apply_witness(strassen(), witness))


def test_strassen_maps_to_itself():
    witness = equivalence_witness(strassen())
    assert witness is not None and _same(apply_witness(strassen(), witness), strassen())


@pytest.mark.parametrize("seed", range(8))
def test_strassen_under_random_symmetry_is_recognised(seed):
    moved = random_symmetry(strassen(), seed)
    assert verify(moved)
    witness = equivalence_witness(moved)
    assert witness is not None
    json.loads(json.dumps(witness))  # JSON-serialisable
    replayed = apply_witness(moved, json.loads(json.dumps(witness)))
    assert _same(replayed, strassen())
    assert equivalent_to_strassen(moved) is True


@pytest.mark.parametrize("seed", range(4))
def test_winograd_variant_is_recognised(seed):
    scheme = winograd() if seed == 0 else random_symmetry(winograd(), 100 + seed)
    assert verify(scheme)
    witness = equivalence_witness(scheme)
    assert witness is not None and _same(apply_witness(scheme, witness), strassen())


def test_witness_to_other_target():
    target = random_symmetry(winograd(), 7)
    witness = equivalence_witness(strassen(), target)
    assert witness is not None and _same(apply_witness(strassen(), witness), target)


def test_alphatensor_2x2x2_is_equivalent():
    assert equivalent_to_strassen(load_npz_scheme(known_schemes_npz(), "2x2x2")) is True


def test_broken_scheme_is_not_equivalent():
    broken = strassen()
    broken.U[0, 0] = Fraction(2)
    assert not verify(broken)
    assert equivalence_witness(broken) is None
    assert equivalent_to_strassen(broken) is False


def test_other_rank_or_format():
    assert equivalent_to_strassen(naive(2, 2, 2)) is False
    assert equivalence_witness(naive(2, 2, 2)) is None
    assert equivalent_to_strassen(naive(2, 2, 3)) is None
    with pytest.raises(ValueError):
        equivalence_witness(naive(2, 2, 3))
