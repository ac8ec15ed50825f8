"""The batch-size study: design, batched training (== each run alone), rows and their CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bilinear.algebra.expand import EXPANSION_TOL
from bilinear.algebra.schemes import Scheme, strassen
from bilinear.io import write_csv
from bilinear.learn.data import make_datasets
from bilinear.learn.training import Recipe, init_runs, train_runs
from bilinear.params import ParamError
from bilinear.studies import sweep
from bilinear.studies import sweep_batch as stage
from stages import sweep as sweep_stage
from tests.tiny_params import TINY, Replace, apply_overrides

FMT = (2, 2, 2)
PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def _params(**overrides) -> dict:
    """The project's params with TINY's sweep section and overrides of sweep.run (workers and
    batch_sizes go to the section itself)."""
    params = apply_overrides(yaml.safe_load(PARAMS.read_text(encoding="utf-8")),
                             {"sweep": TINY["sweep"]})
    top = {k: overrides.pop(k) for k in ("workers", "batch_sizes") if k in overrides}
    if "batch_sizes" in top:
        top["batch_sizes"] = Replace(top["batch_sizes"])
    return apply_overrides(params, {"sweep": {**top, "run": overrides}})


def _tiny(tmp_path, **overrides) -> tuple[int, dict]:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(_params(**overrides)))
    return stage.read_params(str(path))


def _data(seeds, n_train=64, n_test=32):
    sets = [make_datasets(FMT, n_train, n_test, s) for s in seeds]
    return [{k: np.stack([s[i][k] for s in sets]) for k in "abc"} for i in (0, 1)]


def test_default_design_matches_the_paper():
    seed, cfg = stage.read_params(str(PARAMS))
    runs = sweep.design(cfg["protocols"], seed)
    counts = {p: sum(r.protocol == p for r in runs) for p in "AB"}
    assert counts == {"A": 75, "B": 120}
    assert len({r.run_id for r in runs}) == 195
    data = {p: {r.data_seed for r in runs if r.protocol == p} for p in "AB"}
    assert len(data["A"]) == len(data["B"]) == 5 and not data["A"] & data["B"]
    a0 = [r for r in runs if r.protocol == "A" and r.seed == 0]
    assert len({r.data_seed for r in a0}) == 1  # a seed: same data and init at every B, replica
    assert len({r.shuffle_seed for r in a0}) == 3  # a replica: its own mini-batch order
    assert sorted({r.batch_size for r in runs}) == cfg["batch_sizes"]
    assert cfg["protocols"]["A"]["batch_sizes"] == [8, 16, 32, 64, 128]
    assert cfg["protocols"]["B"]["batch_sizes"] == [8, 16, 24, 32, 48, 64, 96, 128]


def test_epochs_helpers():
    assert sweep.evaluation_epochs([250, 100], 1000) == [100, 250, 1000]
    assert sweep.kappa_epochs([5, 10, 25], 1000) == {"5": 50, "10": 100, "25": 250, "final": 1000}
    assert sweep.kappa_epochs([5, 10], 10) == {"5": 1, "10": 1, "final": 10}
    with pytest.raises(ValueError):
        sweep.evaluation_epochs([20], 10)


@pytest.mark.parametrize("batch", [7, 16])
def test_batched_runs_equal_runs_trained_alone(batch):
    seeds = [11, 12, 13, 14]
    train, test = _data(seeds, n_train=50)
    U, V, W = init_runs(FMT, 8, seeds)
    recipe = Recipe(epochs=5, batch_size=batch)
    together = train_runs(U, V, W, train, test, recipe, seeds)
    for r in (0, 2, 3):
        alone = train_runs(U[r:r + 1], V[r:r + 1], W[r:r + 1],
                           {k: v[r:r + 1] for k, v in train.items()},
                           {k: v[r:r + 1] for k, v in test.items()}, recipe, seeds[r:r + 1])
        for mine, theirs in zip((alone.U, alone.V, alone.W), (together.U, together.V, together.W),
                                strict=True):
            assert torch.equal(mine[0], theirs[r])
        assert np.array_equal(alone.train_loss[:, 0], together.train_loss[:, r])
        assert np.array_equal(alone.test_loss[:, 0], together.test_loss[:, r])


def test_expansion_error_is_cached_per_scheme():
    assert sweep.expansion_error(strassen()) < EXPANSION_TOL
    s = strassen()
    W = s.W.copy()
    W[0, 0] += 1
    broken = Scheme(FMT, s.U, s.V, W)
    assert sweep.expansion_error(broken) > 0.01
    assert sweep.expansion_error(broken) == sweep.expansion_error(Scheme(FMT, s.U, s.V, W))


@pytest.fixture(scope="module")
def tiny_rows(tmp_path_factory):
    seed, cfg = _tiny(tmp_path_factory.mktemp("p"), workers=1)
    table, timing = stage.run_batch(32, seed, cfg, progress=False)
    return seed, cfg, table, timing


def _csv(table, cfg) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=sweep.columns(cfg["kappa_percents"]),
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buf.getvalue().encode()


def test_tiny_study_rows_follow_the_schema(tiny_rows, tmp_path):
    _, cfg, table, timing = tiny_rows
    assert timing["runs"] == 3  # protocol A: 2 seeds, protocol B: 1 seed, 1 replica each
    # runs x (evaluation epochs x methods + the final epoch's two anneal protocols)
    assert len(table) == 3 * (2 * len(sweep.METHODS) + len(sweep.ANNEALED))
    assert sweep.COLUMNS == list(table[0])
    write_csv(tmp_path / "B32.csv", table, sweep.COLUMNS)
    with open(tmp_path / "B32.csv", encoding="utf-8") as fh:
        back = list(csv.DictReader(fh))
    assert back == table
    assert {r["method"] for r in table} == set(sweep.METHODS) | set(sweep.ANNEALED)
    assert all(r["final"] == "True" for r in table if r["method"] in sweep.ANNEALED)
    steps = {r["run_id"]: r for r in table if r["method"] == "anneal_equal_steps"}
    for r in table:  # at the reference batch size (32) equal steps are equal epochs
        if r["method"] == "anneal":
            assert {k: v for k, v in r.items() if k != "method"} == {
                k: v for k, v in steps[r["run_id"]].items() if k != "method"}
    assert {r["epoch"] for r in table} == {"10", "20"}
    assert all((r["final"] == "True") == (r["epoch"] == "20") for r in table)
    assert {r["protocol"] for r in table} == {"A", "B"}
    for r in table:
        assert r["exact"] in ("True", "False") and r["expansion_success"] in ("True", "False")
        assert r["expansion_success"] == "False" or r["exact"] == "True"
        assert (r["expansion_error"] == "") == (r["exact"] == "False")
        assert float(r["train_loss"]) > 0 and float(r["margin"]) >= 0 and int(r["nonzeros"]) > 0
        assert r["degenerate_final"] == "False" and float(r["kappa_final"]) >= 1
        assert float(r["trace_5"]) > 0
        if r["method"] == "phase1_round":
            assert r["equivalent_to_strassen"] == "False"  # rank 8 is never Strassen's rank 7


def test_tiny_study_is_deterministic_with_a_process_pool(tiny_rows):
    seed, cfg, table, _ = tiny_rows
    again, _ = stage.run_batch(32, seed, {**cfg, "workers": 2}, progress=False)
    assert _csv(again, cfg) == _csv(table, cfg)


@pytest.mark.parametrize("batch_sizes, message", [
    ({"B16": ["A"], "B32": ["A", "C"]}, "sweep.batch_sizes.B32: expected a non-empty list"),
    ({"B16": ["A"], "B32": []}, "sweep.batch_sizes.B32: expected a non-empty list"),
    ({"B16": ["A", "A"], "B32": ["B"]}, "sweep.batch_sizes.B16: expected a non-empty list"),
    ({"16": ["A"], "B32": ["A", "B"]}, "sweep.batch_sizes.16: keys are B<size>"),
    ({"B0": ["A"], "B32": ["A", "B"]}, "sweep.batch_sizes.B0: keys are B<size>"),
    ({"B16": ["A"], "B32": ["A"]}, "sweep.protocols.B: no batch size"),
    ({}, "sweep.batch_sizes: expected at least one"),
])
def test_bad_batch_sizes_are_param_errors(tmp_path, batch_sizes, message):
    with pytest.raises(ParamError, match=re.escape(message)):
        _tiny(tmp_path, batch_sizes=batch_sizes)


def test_stage_rejects_bad_arguments_and_params(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params()))
    assert sweep_stage.main(["B12"]) == 2
    assert "sweep.batch_sizes: no entry B12" in capsys.readouterr().err
    for args in ([], ["16"], ["B16", "B32"]):
        assert sweep_stage.main(args) == 2
        assert "usage: python -m stages.sweep B<size>" in capsys.readouterr().err
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params(eval_epochs=[30])))
    assert sweep_stage.main(["B16"]) == 2
    assert "sweep.run.eval_epochs" in capsys.readouterr().err


def test_a_solver_failure_is_a_failed_row(monkeypatch):
    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(sweep, "discretize", broken)
    U, V, W = (x.astype(float) for x in strassen().as_float())
    outcome = sweep.crystallize_one((0, 1, "sparsify", U, V, W), 1e-22)
    assert outcome == sweep.SOLVER_FAILED
    assert outcome["exact"] is False and outcome["nonzeros"] is None


def test_stage_writes_the_csv_and_a_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # 10 epochs: kappa at 5% and 10% are both epoch 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params(epochs=10, eval_epochs=[10],
                                                                 workers=1)))
    assert sweep_stage.main(["B16"]) == 0
    with open(tmp_path / "data/sweep/B16.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * (len(sweep.METHODS) + len(sweep.ANNEALED))
    assert list(rows[0]) == sweep.COLUMNS
    assert all(r["kappa_5"] == r["kappa_10"] != "" for r in rows)
    assert capsys.readouterr().out.startswith("sweep@B16: 2 runs x 10 epochs")


def test_batch_keys():
    from bilinear.studies.batch_keys import batch_key, batch_of, is_batch_key

    assert batch_key(32) == "B32" and batch_of("B32") == 32
    for bad in ("B0", "B08", "b32", "32", 32, "B", "B3x"):
        assert not is_batch_key(bad)
    with pytest.raises(ValueError):
        batch_of("B08")
