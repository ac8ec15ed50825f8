"""bilinear.seeds: every random stream of the project, enumerated for the default params, is
disjoint from every other; unchanged derivations keep their values."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import yaml

from bilinear import seeds
from bilinear.search.discover import parse_format
from tests.project_copy import ROOT

STUDY_PURPOSES = {"conditions": ("init", "shuffle"),
                  "anneal_grid": ("train_data", "init", "shuffle"),
                  "frontier": ("init", "shuffle"),
                  "init_symmetry": ("init", "shuffle"),
                  "odds": ("init", "shuffle"),
                  "finetune": ("init", "shuffle")}


def _purposes(run_seeds, purposes) -> set:
    return {seeds.derived_seed(s, p) for s in run_seeds for p in purposes}


def streams(params: dict, offsets: dict | None = None) -> dict[str, set]:
    """{stream: the seeds (ints) or entropy tuples its generators receive} for these params;
    offsets replace RUN_OFFSETS (to show that the test sees a collision)."""
    master = params["seed"]
    offsets = {**seeds.RUN_OFFSETS, **(offsets or {})}

    def runs(study: str, count: int) -> list[int]:
        return [master * seeds.RUN_BLOCK + offsets[study] + k for k in range(count)]

    out = {"data": _purposes([master], ("train_data", "test_data")),  # shared by design: data,
           "main_run": _purposes([master], ("init", "shuffle", "finetune"))}  # conditions, frontier
    sizes = {"conditions": params["conditions"]["seeds"],
             "anneal_grid": params["anneal_grid"]["seeds"], "frontier": params["frontier"]["seeds"],
             **{k: params[k]["seeds"] for k in ("init_symmetry", "odds", "finetune")}}
    for study, count in sizes.items():
        out[study] = _purposes(runs(study, count), STUDY_PURPOSES[study])
    attempts = [seeds.attempt_seed(s, a) for s in runs("frontier", sizes["frontier"])
                for a in range(1, params["frontier"]["attempts"])]
    out["frontier_attempts"] = _purposes(attempts, ("init", "shuffle"))
    sweep = params["sweep"]
    data = [seeds.study_seed(master, name, s) for name, spec in sweep["protocols"].items()
            for s in range(spec["seeds"])]
    shuffle = [seeds.study_seed(master, name, s, 1 + r)
               for name, spec in sweep["protocols"].items()
               for s in range(spec["seeds"]) for r in range(spec["replicas"])]
    out["sweep"] = _purposes(data, ("train_data", "test_data", "init")) | _purposes(
        shuffle, ("shuffle",))
    out["sweep_expansion"] = {(seeds.SWEEP_TAG,)}
    out["discover"] = {seeds.walk_seed(master, parse_format(key), k)
                       for key in params["discover"]["targets"]
                       for k in range(params["discover"]["seeds"])}
    out["noise"] = {(master, seeds.NOISE, i) for i in range(3)}
    checkpoints = range(len(params["sweep"]["run"]["kappa_percents"]))
    out["anova"] = {master + seeds.ANOVA + 100 * i + b for i in checkpoints for b in (0, 1)}
    geometry = range(2 * len(params["geometry"]["percents"]) + 1)  # equal epochs, steps, final
    out["curvature"] = {master + seeds.CURVATURE + 100 * i + b for i in geometry for b in (0, 1)}
    out["verify"] = ({(master, seeds.VERIFY_EXPANSION, k)
                      for k in range(len(params["verify"]["dtypes"]))}
                     | {(master, seeds.VERIFY_PERMUTATION), (master, seeds.VERIFY_PAPER)})
    bench = params["bench"]
    out["native_bench"] = {(master, seeds.NATIVE_BENCH, n) for n in bench["sizes"]}
    out["native_leaderboard"] = {(master, seeds.NATIVE_LEADERBOARD, params["leaderboard"]["n"])}
    out["native_tune"] = {(master, seeds.NATIVE_TUNE)}
    out["native_first_call"] = {(master, seeds.NATIVE_FIRST_CALL, bench["first_call_n"])}
    designs = params["kernel_designs"]
    out["kernel_designs"] = {(master, seeds.KERNEL_DESIGNS, designs["n"], t)
                             for t in designs["threads"]}
    out["plot_jitter"] = {(seeds.PLOT_JITTER,)}
    return out


def _states(entries: set) -> set:
    """What a generator seeded by each entry starts from (equal ints or entropy: equal state)."""
    return {tuple(np.random.SeedSequence(e).generate_state(4)) for e in entries}


def overlaps(found: dict[str, set]) -> list[str]:
    """'a & b' for every pair of streams that share a generator state."""
    states = {name: _states(entries) for name, entries in found.items()}
    return [f"{a} & {b}" for a, b in combinations(sorted(states), 2) if states[a] & states[b]]


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_every_stream_of_the_default_params_is_disjoint(params):
    found = streams(params)
    assert all(found.values())
    assert overlaps(found) == []


def test_the_old_anneal_grid_offset_collides_with_the_frontier(params):
    assert overlaps(streams(params, {"anneal_grid": 7000})) == ["anneal_grid & frontier"]


def test_run_seed_blocks_are_disjoint_at_the_largest_study():
    blocks = [set(seeds.run_seeds(study, 3, seeds.MAX_RUNS)) for study in seeds.RUN_OFFSETS]
    assert all(not a & b for a, b in combinations(blocks, 2))
    assert all(max(b) < 4 * seeds.RUN_BLOCK for b in blocks)  # below the next master seed's
    with pytest.raises(ValueError):
        seeds.run_seeds("frontier", 0, seeds.MAX_RUNS + 1)


def test_unchanged_derivations_keep_their_values():
    # values of the derivations before they moved here (bilinear.learn.data, studies.sweep,
    # studies.frontier, search.discover): the draws of the streams they feed stay identical
    assert seeds.derived_seed(0, "init") == 5611424051297566007
    assert seeds.run_seeds("conditions", 0, 2) == [5000, 5001]
    assert seeds.run_seeds("frontier", 1, 1) == [107000]
    assert seeds.study_seed(0, "A", 0) == 2077906215
    assert seeds.attempt_seed(7000, 1) == 1153156704
    assert seeds.walk_seed(0, (2, 2, 3), 0) == 111324000


def test_tagged_streams_draw_as_before():
    # stream() is the SeedSequence behind default_rng([master, tag, ...]): unchanged draws
    new, old = seeds.stream(0, seeds.NOISE, 2), np.random.default_rng([0, seeds.NOISE, 2])
    assert np.array_equal(new.standard_normal(5), old.standard_normal(5))
    assert not np.array_equal(seeds.stream(0, seeds.NOISE, 1).random(3),
                              seeds.stream(0, seeds.NOISE, 2).random(3))
