"""bilinear.search.census: collisions of the refined fingerprint decided by the explicit
equivalence search; certified inequivalent ones become classes of their own."""

from __future__ import annotations

import json
import random
from pathlib import Path

from bilinear.algebra.formats.project_json import scheme_from_dict, scheme_to_json
from bilinear.algebra.invariants import refined_fingerprint
from bilinear.algebra.schemes import canonical
from bilinear.search import census
from bilinear.search.pool import PoolSearch, collisions, pooled_search
from tests.test_equivalence_search import transformed

PAIR = Path(__file__).parent / "data" / "3x3x3_r23_equal_invariants.json"


def _pair():
    pair = json.loads(PAIR.read_text())
    return [canonical(scheme_from_dict(pair[k])) for k in "ab"]


def test_new_collision_ignores_the_same_coefficients_with_other_provenance():
    a, b = _pair()
    key = refined_fingerprint(a)
    kept: dict[str, str] = {}
    assert not census.new_collision(kept, key, scheme_to_json(a))
    a.provenance = {"sample": 3}
    assert not census.new_collision(kept, key, scheme_to_json(a))
    assert census.new_collision(kept, key, scheme_to_json(b))
    assert list(kept) == [key]


def test_resolve_keeps_the_certified_inequivalent_collisions_only():
    a, b = _pair()
    key = refined_fingerprint(a)
    moved = canonical(transformed(a, random.Random(4)))
    assert refined_fingerprint(moved) == key
    found = {key: scheme_to_json(a)}
    queue = [(key, scheme_to_json(moved)), (key, scheme_to_json(b)), (key, scheme_to_json(b)),
             (key, scheme_to_json(moved))]
    extra, counts = census.resolve(found, queue, limit=10, workers=1)
    assert extra == {f"{key}-2": scheme_to_json(b)}
    assert {k: counts[k] for k in ("collisions", "checked", "equivalent", "inequivalent",
                                    "undecided")} == {"collisions": 2, "checked": 2,
                                                      "equivalent": 1, "inequivalent": 1,
                                                      "undecided": 0}
    extra, counts = census.resolve(found, queue, limit=1, workers=1)
    assert extra == {} and (counts["collisions"], counts["checked"]) == (2, 1)


def test_pooled_runs_record_their_collisions():
    cfg = PoolSearch("integer", walkers=2, pool_size=4, round_flips=200_000, max_rounds=30,
                     plateau=20000, samples=10, sample_every=5000, max_coefficient=1,
                     lift_steps=19, collect_rounds=2)
    runs = pooled_search((2, 2, 2), 7, [1, 2], cfg, workers=1)
    found: dict[str, str] = {}
    for run in runs:
        for key, text in run.schemes.items():
            found.setdefault(key, text)
    pending = collisions(runs, found)
    assert pending and all(key in found for key, _ in pending)
    extra, counts = census.resolve(found, pending, limit=5, workers=1)
    assert extra == {} and counts["equivalent"] == counts["checked"] > 0  # de Groote: one class
