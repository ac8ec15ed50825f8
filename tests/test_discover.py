"""Tests for discovery: flip-graph moves keep the tensor, walks find exact schemes, the executors
agree, and bad targets are one-line param errors."""

from __future__ import annotations

import numpy as np
import pytest

from bilinear.algebra.schemes import matmul_tensor, verify
from bilinear.params import ParamError
from bilinear.studies import discover
from bilinear.studies.executor import run_tasks
from bilinear.studies.flips import Walk, search, standard

SMALL = discover.Search(max_flips=50000, plateau=500, samples=2, sample_every=500,
                        max_coefficient=1)


def _tensor(products, fmt):
    return sum(np.einsum("i,j,k->ijk", np.array(x), np.array(y), np.array(z))
               for x, y, z in products)


def test_standard_algorithm_is_exact():
    for fmt in [(1, 1, 1), (2, 3, 4), (3, 3, 3)]:
        scheme = discover.to_scheme(fmt, standard(fmt), {})
        assert scheme.rank == fmt[0] * fmt[1] * fmt[2] and verify(scheme)


def test_moves_keep_the_tensor():
    fmt = (2, 2, 3)
    walk = Walk(standard(fmt), seed=3)
    target = matmul_tensor(*fmt)
    moves = 0
    for step in range(400):
        moves += walk.flip()
        walk.reduce()
        if step % 50 == 0:
            walk.plus()
        assert np.array_equal(_tensor(walk.products, fmt), target)
    assert moves > 100


def test_walk_finds_strassen_rank():
    result = search((2, 2, 2), 7, seed=0, max_flips=50000, plateau=500, samples=1,
                    sample_every=1)
    assert len(result.products) == 7 and result.reached_at is not None
    assert verify(discover.to_scheme((2, 2, 2), result.products, {}))


def test_task_returns_verified_deduplicated_schemes():
    out = discover.run_task(((2, 2, 2), 7, 5, SMALL))
    assert out["best_rank"] == 7 and out["schemes"]
    key = next(iter(out["schemes"]))
    assert key.startswith("2x2x2-r7-")
    m = discover.summarize((2, 2, 2), 7, [out])
    assert m["exact"] == 1 and m["best_rank"] == 7 and m["distinct_fingerprints"] >= 1


def test_same_results_serial_and_local_processes():
    tasks = [((2, 2, 2), 7, discover.walk_seed(0, (2, 2, 2), k), SMALL) for k in range(3)]
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
