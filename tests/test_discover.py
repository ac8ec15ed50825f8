"""Tests for discovery: flip-graph moves keep the tensor, walks find exact schemes, the executors
agree, and bad targets are one-line param errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bilinear.algebra import bundle
from bilinear.algebra.schemes import matmul_tensor, verify
from bilinear.params import ParamError
from bilinear.search import discover
from bilinear.search.executor import run_tasks
from bilinear.search.flips import search, standard, walk
from bilinear.seeds import walk_seed

SMALL = discover.Search(max_flips=50000, plateau=500, samples=2, sample_every=500,
                        max_coefficient=1)


def _tensor(products, fmt):
    return sum(np.einsum("i,j,k->ijk", np.array(x), np.array(y), np.array(z))
               for x, y, z in products)


def test_standard_algorithm_is_exact():
    for fmt in [(1, 1, 1), (2, 3, 4), (3, 3, 3)]:
        scheme = discover.to_scheme(fmt, standard(fmt), {})
        assert scheme.rank == fmt[0] * fmt[1] * fmt[2] and verify(scheme)


def _bounded(products, bound):
    return max(abs(a) for prod in products for v in prod for a in v) <= bound


def test_walks_keep_the_tensor_and_the_bound():
    # (with bound 2 the graph is much larger: no reduction below the standard rank comes soon)
    for fmt, bound in [((2, 2, 3), 1), ((2, 2, 3), 2), ((2, 3, 3), 1), ((3, 3, 3), 1)]:
        target, top = matmul_tensor(*fmt), fmt[0] * fmt[1] * fmt[2]
        # at target = the standard rank, samples are the walk's schemes along its way
        along = search(fmt, top, seed=3, max_flips=10**5, plateau=100, samples=30,
                       sample_every=71, max_coefficient=bound)
        # below it, the walk makes plus transitions and reductions; its best must still be exact
        down = search(fmt, 1, seed=3, max_flips=10**5, plateau=100, samples=1, sample_every=1,
                      max_coefficient=bound)
        assert len(along.samples) == 30 and down.plus > 0
        assert len(down.products) < top or bound > 1
        for products in [*along.samples, down.products]:
            assert np.array_equal(_tensor(products, fmt), target)
            assert _bounded(products, bound)


def test_walk_from_a_given_scheme_keeps_its_tensor():
    fmt = (2, 2, 2)
    start = search(fmt, 7, seed=1, max_flips=50000, plateau=500, samples=1, sample_every=1)
    result = walk(start.products, 6, seed=2, max_flips=20000, plateau=10**9, samples=1,
                  sample_every=1)
    assert len(result.products) == 7 and result.flips == 20000 and result.plus == 0
    assert np.array_equal(_tensor(result.products, fmt), matmul_tensor(*fmt))


def test_walk_is_deterministic_for_a_seed():
    runs = [search((3, 3, 3), 23, seed=s, max_flips=10**6, plateau=5000, samples=3,
                   sample_every=1000) for s in (0, 0, 1)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert len(runs[0].samples) == 3 and all(len(s) == 23 for s in runs[0].samples)
    for sample in runs[0].samples:
        assert verify(discover.to_scheme((3, 3, 3), sample, {}))


def test_walk_finds_strassen_rank():
    result = search((2, 2, 2), 7, seed=0, max_flips=50000, plateau=500, samples=1,
                    sample_every=1)
    assert len(result.products) == 7 and result.reached_at is not None
    assert verify(discover.to_scheme((2, 2, 2), result.products, {}))


def test_walk_refuses_sizes_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        search((2, 2, 2), 7, seed=0, max_flips=10, plateau=1, samples=1, sample_every=1,
               max_coefficient=10**6)
    with pytest.raises(ValueError, match="every entry within it"):
        walk([((2,), (1,), (1,))], 1, seed=0, max_flips=10, plateau=1, samples=1,
             sample_every=1)


def test_found_folder_and_index_exist_for_an_empty_result(tmp_path):
    folder = tmp_path / "2x2x2-r6"
    out = discover.run_task(((2, 2, 2), 6, 5, discover.Search(2000, 500, 1, 1, 1)))
    assert out["schemes"] == {} and out["best_rank"] >= 7
    assert discover.write_found(folder, {}, [out]) == folder / "schemes.jsonl.gz"
    assert json.loads((folder / "index.json").read_text()) == {"fingerprints": []}
    assert bundle.read_all(folder / "schemes.jsonl.gz") == {}


def test_index_counts_the_walks_of_each_fingerprint(tmp_path):
    results = [discover.run_task(((2, 2, 2), 7, s, SMALL)) for s in (1, 2)]
    schemes = discover.unique_schemes(results)
    (tmp_path / "2x2x2-r7-00aa.json").write_text("{}")  # a scheme file of the old layout
    (tmp_path / "notes.json").write_text("{}")  # not the stage's: never touched
    discover.write_found(tmp_path, schemes, results)
    first = (tmp_path / "schemes.jsonl.gz").read_bytes()
    discover.write_found(tmp_path, schemes, results)
    assert (tmp_path / "schemes.jsonl.gz").read_bytes() == first   # deterministic bytes
    index = json.loads((tmp_path / "index.json").read_text())["fingerprints"]
    assert [e["fingerprint"] for e in index] == sorted(schemes)
    assert sum(e["walks"] for e in index) == sum(len(r["schemes"]) for r in results)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json", "notes.json",
                                                          "schemes.jsonl.gz"]
    stored = bundle.read_all(tmp_path / "schemes.jsonl.gz")
    assert sorted(stored) == sorted(schemes) and all(verify(s) for s in stored.values())


def test_task_returns_verified_deduplicated_schemes():
    out = discover.run_task(((2, 2, 2), 7, 5, SMALL))
    assert out["best_rank"] == 7 and out["schemes"]
    key = next(iter(out["schemes"]))
    assert key.startswith("2x2x2-r7-")
    m = discover.summarize((2, 2, 2), 7, [out])
    assert m["exact"] == 1 and m["best_rank"] == 7 and m["distinct_fingerprints"] >= 1


def test_same_results_serial_and_local_processes():
    tasks = [((2, 2, 2), 7, walk_seed(0, (2, 2, 2), k), SMALL) for k in range(3)]
    serial = run_tasks(discover.run_task, tasks, workers=1, progress=False)
    pooled = run_tasks(discover.run_task, tasks, workers=2, progress=False)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in serial]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in pooled]


@pytest.mark.parametrize("key, rank, message", [
    ("2x0x2", 3, "every dimension must be >= 1"),
    ("2x2", 3, "keys are formats"),
    ("2x2x2", 0, "expected a rank in [1, 8]"),
    ("2x2x2", 9, "expected a rank in [1, 8]"),
])
def test_bad_targets_are_param_errors(key, rank, message):
    with pytest.raises(ParamError, match=message.replace("[", r"\[").replace("]", r"\]")):
        discover.check_rank(key, rank)


def test_discover_command_writes_verified_schemes_and_an_index(tmp_path, capsys):
    from bilinear.cli import main

    out = tmp_path / "found"
    out.mkdir()
    (out / "mine.json").write_text("{}")  # a user's file in the folder is left alone
    assert main(["discover", "2x2x2", "--rank", "7", "--seeds", "2", "--max-flips", "50000",
                 "--plateau", "500", "--samples", "1", "--workers", "1", "--out", str(out)]) == 0
    assert "2x2x2 rank 7: 2/2 walks exact" in capsys.readouterr().out
    index = json.loads((out / "index.json").read_text())
    stored = bundle.read_all(out / "schemes.jsonl.gz")
    assert stored and sorted(stored) == [e["fingerprint"] for e in index["fingerprints"]]
    assert all(verify(s) for s in stored.values())
    assert (out / "mine.json").read_text() == "{}"
    assert main(["verify", str(out / "schemes.jsonl.gz")]) == 0
    assert f"{len(stored)} of {len(stored)} schemes exact" in capsys.readouterr().out
    key = sorted(stored)[0]
    assert main(["verify", str(out / "schemes.jsonl.gz"), "--key", key]) == 0
    assert main(["discover", "2x2x2", "--rank", "7", "--seeds", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --seeds") and err.count("\n") == 1


def test_verify_reports_an_incorrect_bundle_entry(tmp_path, capsys):
    from bilinear.algebra.formats.project_json import scheme_to_json
    from bilinear.algebra.schemes import strassen
    from bilinear.cli import main

    good = strassen()
    bad = discover.to_scheme((2, 2, 2), standard((2, 2, 2))[:7], {})
    path = tmp_path / "b.jsonl.gz"
    path.write_bytes(bundle.bundle_bytes({"a": scheme_to_json(good), "b": scheme_to_json(bad)}))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "entry b" in out and "1 of 2 schemes exact" in out
    path.write_bytes(b"\x1f\x8bnot gzip")
    assert main(["verify", str(path)]) == 2


def test_best_known_ranks_do_not_depend_on_the_order_of_the_format():
    assert discover.best_known((2, 2, 5)) == discover.best_known((5, 2, 2)) == 18
    assert discover.best_known((5, 4, 4)) == 61 and discover.best_known((7, 7, 7)) is None
