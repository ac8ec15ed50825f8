"""The explicit equivalence search: it finds (and replays) the symmetry behind a randomly
transformed scheme of every kind of format, and certifies two schemes inequivalent although
their invariants agree."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bilinear.algebra.equivalence_search import (
    ROLE_MAPS,
    apply_witness,
    role_format,
    role_map,
    same_products,
    search_equivalence,
)
from bilinear.algebra.fingerprint import fingerprint
from bilinear.algebra.formats.project_json import scheme_from_dict
from bilinear.algebra.invariants import refined_fingerprint
from bilinear.algebra.schemes import Scheme, naive, strassen, verify
from bilinear.cli import main as cli
from bilinear.search.discover import to_scheme
from bilinear.search.flips import search

PAIR = Path(__file__).parent / "data" / "3x3x3_r23_equal_invariants.json"


def _walked(fmt, rank, seed) -> Scheme:
    """The first seeded flip-graph scheme of fmt at rank from seed on (exact)."""
    while True:
        w = search(fmt, rank, seed, 300_000, 20000, 1, 20000)
        if len(w.products) == rank:
            scheme = to_scheme(fmt, w.products, {})
            assert verify(scheme)
            return scheme
        seed += 1


def _invertible(d: int, rng: random.Random) -> np.ndarray:
    while True:
        M = np.array([[Fraction(rng.randint(-2, 2), rng.choice([1, 1, 2])) for _ in range(d)]
                      for _ in range(d)], dtype=object)
        if np.linalg.matrix_rank(M.astype(float)) == d:
            return M


def transformed(scheme: Scheme, rng: random.Random) -> Scheme:
    """The scheme under a random role map (that keeps its format), sandwich, permutation and
    scaling: an equivalent scheme."""
    role = rng.choice([r for r in ROLE_MAPS if role_format(scheme.fmt, *r) == scheme.fmt])
    moved = role_map(scheme, *role)
    n, m, p = moved.fmt
    X, Y, Z = _invertible(n, rng), _invertible(m, rng), _invertible(p, rng)
    witness = {"role": {"cyclic": 0, "transpose": False},
               "X": X.tolist(), "Y": Y.tolist(), "Z": Z.tolist(),
               "permutation": list(range(scheme.rank)),
               "scales": [[1, 1]] * scheme.rank}
    out = apply_witness(moved, witness)  # the sandwich, with exact inverses
    order = list(range(scheme.rank))
    rng.shuffle(order)
    scales = [(Fraction(rng.choice([1, -1, 2, -3])),
               Fraction(rng.choice([1, -1]), rng.choice([1, 2]))) for _ in order]
    pairs = list(zip(order, scales, strict=True))
    U = np.array([out.U[r] * a for r, (a, _) in pairs], dtype=object)
    V = np.array([out.V[r] * b for r, (_, b) in pairs], dtype=object)
    W = np.array([out.W[:, r] / (a * b) for r, (a, b) in pairs], dtype=object).T
    return Scheme(out.fmt, U, V, W, {})


@pytest.mark.parametrize("fmt,rank", [((2, 2, 2), 7), ((2, 2, 3), 11), ((2, 3, 2), 11),
                                      ((2, 3, 4), 22), ((3, 3, 3), 23)])
def test_finds_and_replays_the_symmetry_of_a_transformed_scheme(fmt, rank):
    rng = random.Random(7)
    for seed in range(2):
        scheme = _walked(fmt, rank, seed)
        target = transformed(scheme, rng)
        assert verify(target)
        verdict = search_equivalence(scheme, target)
        assert verdict.status == "equivalent"
        assert same_products(apply_witness(scheme, verdict.witness), target)


def test_role_maps_send_schemes_to_schemes_of_the_mapped_format():
    scheme = _walked((2, 3, 4), 22, 0)
    for role in ROLE_MAPS:
        moved = role_map(scheme, *role)
        assert moved.fmt == role_format((2, 3, 4), *role) and verify(moved)
        verdict = search_equivalence(scheme, moved)  # across formats: a role map relates them
        assert verdict.status == "equivalent"
        assert same_products(apply_witness(scheme, verdict.witness), moved)


def test_the_standard_algorithm_with_its_continuous_symmetries():
    scheme = naive(3, 3, 3)
    verdict = search_equivalence(scheme, transformed(scheme, random.Random(1)))
    assert verdict.status == "equivalent"


def test_separates_inequivalent_schemes_whose_invariants_agree():
    pair = json.loads(PAIR.read_text())
    a, b = scheme_from_dict(pair["a"]), scheme_from_dict(pair["b"])
    assert verify(a) and verify(b)
    assert fingerprint(a) == fingerprint(b) and refined_fingerprint(a) == refined_fingerprint(b)
    assert search_equivalence(a, b).status == "inequivalent"
    assert search_equivalence(b, a).status == "inequivalent"
    # ... while each is equivalent to its own random transform
    rng = random.Random(3)
    assert search_equivalence(a, transformed(a, rng)).status == "equivalent"
    assert search_equivalence(transformed(b, rng), b).status == "equivalent"


def test_other_ranks_and_unrelated_formats_are_inequivalent_and_the_budget_is_kept():
    assert search_equivalence(strassen(), naive(2, 2, 2)).status == "inequivalent"
    assert search_equivalence(naive(2, 2, 3), naive(2, 3, 3)).status == "inequivalent"
    scheme = _walked((3, 3, 3), 23, 5)
    verdict = search_equivalence(scheme, transformed(scheme, random.Random(2)), max_nodes=1)
    assert verdict.status == "undecided" and verdict.nodes == 2


def test_compare_command(tmp_path, capsys):
    pair = json.loads(PAIR.read_text())
    for name in "ab":
        (tmp_path / f"{name}.json").write_text(json.dumps(pair[name]))
    a, b = str(tmp_path / "a.json"), str(tmp_path / "b.json")
    assert cli(["compare", a, b]) == 1
    assert "inequivalent: certified" in capsys.readouterr().out
    assert cli(["compare", a, a]) == 0
    out = capsys.readouterr().out.splitlines()[-1]
    witness = json.loads(out.split("second: ", 1)[1])
    assert witness["permutation"] == list(range(23))
    assert cli(["compare", a, str(tmp_path / "missing.json")]) == 2
    assert cli(["compare", a, a, "--max-nodes", "0"]) == 2
