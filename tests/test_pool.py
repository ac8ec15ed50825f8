"""Pooled flip-graph search: runs reach small targets over the integers and over GF(2) (with
lifting), every kept scheme is exact, the pool only moves down, results do not depend on the
number of local workers, and the time-to-rank table follows the runs' histories."""

from __future__ import annotations

import json

import pytest

from bilinear.algebra.formats.project_json import scheme_from_dict
from bilinear.algebra.schemes import verify
from bilinear.search.flips import standard
from bilinear.search.pool import (
    PackedSearch,
    PoolSearch,
    Run,
    _start,
    pooled_search,
    start_scheme,
    summarize_runs,
    time_to_rank,
)

SMALL = PoolSearch("integer", walkers=3, pool_size=4, round_flips=200_000, max_rounds=30,
                   plateau=2000, samples=3, sample_every=500, max_coefficient=1, lift_steps=19)


def _comparable(runs):
    return [(r.seed, r.rank, r.rounds, r.flips, r.pool, r.schemes, dict(r.lift),
             [rank for rank, _ in r.history]) for r in runs]


def _check(runs, fmt, target):
    for run in runs:
        ranks = [rank for rank, _ in run.history]
        assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)
        assert run.rank == ranks[-1] and all(len(p) == run.rank for p in run.pool)
    _check_schemes(runs, fmt, target)


def _check_schemes(runs, fmt, target):
    for run in runs:
        for text in run.schemes.values():
            scheme = scheme_from_dict(json.loads(text))
            assert scheme.fmt == fmt and scheme.rank == target and verify(scheme)


def test_pooled_runs_reach_small_targets_over_both_rings():
    for ring in ("integer", "gf2"):
        cfg = PoolSearch(**{**SMALL.__dict__, "ring": ring})
        for fmt, target in [((2, 2, 2), 7), ((3, 3, 3), 23)]:
            runs = pooled_search(fmt, target, [11, 12], cfg, workers=1)
            assert [r.rank for r in runs] == [target, target]
            assert all(r.schemes for r in runs)
            _check(runs, fmt, target)
            if ring == "gf2":
                assert all(r.lift["attempts"] >= r.lift["lifted"] > 0 for r in runs)
            else:
                assert all(not r.lift for r in runs)


def test_pooled_runs_do_not_depend_on_the_local_workers():
    serial = pooled_search((3, 3, 3), 23, [5, 6, 7], SMALL, workers=1)
    pooled = pooled_search((3, 3, 3), 23, [5, 6, 7], SMALL, workers=2)
    assert _comparable(serial) == _comparable(pooled)


def test_time_to_rank_and_summary():
    runs = [Run(1, 7, [], history=[[8, 0.0], [7, 2.0]]),
            Run(2, 6, [], history=[[8, 0.0], [6, 1.0]]), Run(3, 8, [], history=[[8, 0.0]])]
    table = time_to_rank(runs, 8)
    assert [row["rank"] for row in table] == [7, 6]
    assert table[0]["core_seconds"] == [2.0, 1.0, None] and table[0]["median_core_seconds"] == 1.5
    assert (table[1]["reached"], table[1]["runs"], table[1]["median_core_seconds"]) == (1, 3, 1.0)
    runs[0].core_seconds = 5.0
    m = summarize_runs((2, 2, 2), 7, runs, SMALL, 7)
    assert (m["best_rank"], m["exact"], m["tried"], m["search_seconds"]) == (6, 2, 3, 5.0)
    assert m["median_core_seconds_to_target"] == 1.5 and m["lift"]["attempts"] == 0


def test_collect_rounds_add_schemes_at_the_target():
    plain = pooled_search((3, 3, 3), 23, [5], SMALL, workers=1)
    more = pooled_search((3, 3, 3), 23, [5], PoolSearch(**{**SMALL.__dict__,
                                                            "collect_rounds": 2}), workers=1)
    assert (plain[0].collected, more[0].collected) == (0, 2)
    assert more[0].rounds == plain[0].rounds + 2
    assert [r for r, _ in more[0].history] == [r for r, _ in plain[0].history]
    assert set(plain[0].schemes) < set(more[0].schemes)
    _check(more, (3, 3, 3), 23)


def test_max_rounds_bound_the_descent_not_the_collection():
    plain = pooled_search((3, 3, 3), 23, [5], SMALL, workers=1)
    tight = PoolSearch(**{**SMALL.__dict__, "max_rounds": plain[0].rounds, "collect_rounds": 3})
    runs = pooled_search((3, 3, 3), 23, [5], tight, workers=1)
    assert runs[0].rounds == plain[0].rounds + 3 and runs[0].collected == 3
    _check(runs, (3, 3, 3), 23)



def test_walkers_go_on_from_their_own_last_scheme_near_the_run_rank():
    std = standard((2, 2, 2))
    run = Run(0, 8, [std, std[1:] + std[:1]])
    assert _start(run, 1, 3, SMALL, std) == run.pool[1]  # first round: a pool member by seed
    mine, above = std[::-1], std + std[:1]
    run.lasts = [mine, above]
    assert _start(run, 0, 3, SMALL, std) == mine  # at the run's rank: the walk goes on
    assert _start(run, 1, 3, SMALL, std) == run.pool[1]  # one above it: the pool ...
    one_above = PoolSearch(**{**SMALL.__dict__, "restart_above": 1})
    assert _start(run, 1, 3, one_above, std) == above  # ... unless one above may go on
    packed = PoolSearch(**{**SMALL.__dict__, "packed": PACKED})
    assert _start(run, 0, 3, packed, std) is std  # packed walks always start afresh


PACKED = PackedSearch(cubes=((0, 1), (2,)), flips=10_000_000, patience=200_000, plateau=2000)


def test_packed_runs_walk_from_the_cube_start_and_lift_only_at_the_target():
    cfg = PoolSearch(**{**SMALL.__dict__, "packed": PACKED, "walkers": 2, "collect_rounds": 1})
    assert len(start_scheme((3, 3, 3), cfg)) == 2 + 3 * 10   # 2 fixed products, 10 orbits
    runs = pooled_search((3, 3, 3), 23, [5, 6], cfg, workers=1)
    assert [r.rank for r in runs] == [23, 23] and all(r.schemes for r in runs)
    assert all(r.gf2_rank == 23 and [k for k, _ in r.history] == [32, 23] for r in runs)
    # lifts only of samples at the target (every lifted scheme is kept or a collision)
    assert all(0 < r.lift["lifted"] <= r.lift["attempts"] for r in runs)
    _check_schemes(runs, (3, 3, 3), 23)
    again = pooled_search((3, 3, 3), 23, [5, 6], cfg, workers=2)
    assert _comparable(again) == _comparable(runs)
    m = summarize_runs((3, 3, 3), 23, runs, cfg, 23)
    assert m["ring"] == "gf2" and m["symmetric"] and m["packed"]["start_rank"] == 32
    assert [row["rank"] for row in m["time_to_rank"]] == [23]   # only the ranks reached
    assert m["packed"]["best_gf2_rank"] == 23 and m["runs"][0]["gf2_rank"] == 23


def test_packed_runs_need_a_square_format():
    cfg = PoolSearch(**{**SMALL.__dict__, "packed": PACKED})
    with pytest.raises(ValueError, match="square"):
        start_scheme((2, 3, 3), cfg)
