"""Noise ablation: both readings, the typo scheme, Wilson intervals, thresholds and the stage."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from bilinear.algebra.formats.project_json import save_scheme
from bilinear.algebra.schemes import Scheme, strassen, verify
from bilinear.io import save_npz, save_torch
from bilinear.learn.crystal import round_clamp
from bilinear.studies import noise

GRID = [1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.2, 0.3, 0.5]


def _samples(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, 4)), rng.standard_normal((n, 4))
    return a, b, (a.reshape(n, 2, 2) @ b.reshape(n, 2, 2)).reshape(n, 4)


def _rates(result: dict, reading: str) -> list[float]:
    return [e["success_rate"] for e in result[reading]["sigma"].values()]


def test_typo_scheme_is_strassen_with_one_wrong_coefficient():
    typo, s = noise.typo_scheme(), strassen()
    assert verify(s) and not verify(typo)
    assert int((typo.U != s.U).sum()) == 1 and list(typo.U[0]) == [1, 0, 0, 0]


def test_round_verify_on_strassen_succeeds_at_small_sigma():
    s = strassen()
    res = noise.ablate(s.fmt, s.as_float(), [1e-4, 1e-3, 1e-2, 5e-2], 50,
                       np.random.default_rng(0), _samples(64))
    assert res["round_verify"]["baseline"]["success"]
    assert _rates(res, "round_verify") == [1.0] * 4
    assert res["unrounded"]["baseline"]["rel_error"] < 1e-14


def test_broken_scheme_fails_at_every_sigma_including_zero():
    typo = noise.typo_scheme()
    res = noise.ablate(typo.fmt, typo.as_float(), GRID, 30, np.random.default_rng(1))
    assert not res["round_verify"]["baseline"]["success"]
    assert _rates(res, "round_verify") == [0.0] * len(GRID)
    assert noise.threshold(res["round_verify"]["sigma"]) is None


def test_deduplicated_verification_matches_one_verify_per_trial():
    s = strassen()
    (copies,) = noise.perturbations(s.as_float(), [0.2], 40, np.random.default_rng(2))
    ok = noise.round_verify(s.fmt, *copies)
    expected = [verify(Scheme(s.fmt, *(round_clamp(x[t]).astype(int) for x in copies)))
                for t in range(40)]
    assert ok.tolist() == expected and 0 < sum(expected) < 40


def test_relative_errors_match_a_direct_computation():
    s = strassen()
    (copies,) = noise.perturbations(s.as_float(), [0.01], 5, np.random.default_rng(3))
    a, b, c = _samples(32)
    err = noise.relative_errors(*copies, a, b, c)
    U, V, W = (x[2] for x in copies)
    direct = np.linalg.norm(((a @ U.T) * (b @ V.T)) @ W.T - c) / np.linalg.norm(c)
    assert err[2] == pytest.approx(direct, rel=1e-12)


def test_same_seed_same_result_and_common_noise_across_sigmas():
    s = strassen()
    runs = [noise.ablate(s.fmt, s.as_float(), [0.1, 0.2], 20, np.random.default_rng(7),
                         _samples(16)) for _ in range(2)]
    assert runs[0] == runs[1]
    small, large = noise.perturbations(s.as_float(), [0.1, 0.2], 3, np.random.default_rng(4))
    base = s.as_float()[0]
    np.testing.assert_allclose(2 * (small[0] - base), large[0] - base, atol=1e-12)


def test_threshold_needs_every_smaller_sigma_to_pass():
    def entries(rates):
        return {f"{s:g}": {"success_rate": r} for s, r in zip([0.01, 0.1, 0.2, 0.3], rates,
                                                              strict=True)}
    assert noise.threshold(entries([1.0, 1.0, 0.5, 1.0])) == 0.1
    assert noise.threshold(entries([0.9, 1.0, 1.0, 1.0])) is None
    assert noise.threshold(entries([1.0, 0.99, 1.0, 1.0])) == 0.3


def _project(tmp_path, sigmas, trials):
    """Synthetic inputs: Strassen as the algorithm, Strassen plus small noise as pruned weights."""
    rng = np.random.default_rng(5)
    save_scheme(tmp_path / "models/algorithm.json", strassen())
    U, V, W = (torch.tensor(x + 1e-3 * rng.standard_normal(x.shape))[None]
               for x in strassen().as_float())
    save_torch(tmp_path / "models/pruned.pt", {"format": [2, 2, 2], "U": U, "V": V, "W": W})
    a, b, c = _samples(64)
    save_npz(tmp_path / "data/test.npz", a=a, b=b, c=c)
    params = {"seed": 0, "noise": {"sigmas": sigmas, "trials": trials, "tolerance": 1e-5,
                                   "level": 0.99}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))


def test_stage_writes_metrics_csv_and_figure(tmp_path, monkeypatch):
    from stages import noise_ablate

    _project(tmp_path, [1e-3, 0.1, 0.4], 20)
    monkeypatch.chdir(tmp_path)
    assert noise_ablate.main() == 0
    first = {p: (tmp_path / p).read_bytes()
             for p in ("metrics/noise.json", "plots/noise.csv", "plots/noise.png")}
    assert first["plots/noise.png"].startswith(b"\x89PNG")
    metrics = json.loads(first["metrics/noise.json"])
    entry = metrics["readings"]["round_verify"]["discrete"]["sigma"]["0.001"]
    assert {"success_rate", "ci_low", "ci_high", "trials"} <= set(entry)
    assert metrics["thresholds"]["round_verify"]["discrete"] == 0.1
    assert metrics["readings"]["round_verify"]["typo"]["baseline"]["success"] is False
    assert metrics["thresholds"]["round_verify"]["typo"] is None
    assert "mean_rel_error" in metrics["readings"]["unrounded"]["continuous"]["sigma"]["0.1"]
    lines = first["plots/noise.csv"].decode().strip().splitlines()
    assert len(lines) == 1 + 3 * 3 + 3 * 3  # header, 2 readings x 3 subjects x 3 sigmas
    assert noise_ablate.main() == 0
    assert first == {p: (tmp_path / p).read_bytes() for p in first}


def test_stage_rejects_bad_params(tmp_path, monkeypatch, capsys):
    from stages import noise_ablate

    _project(tmp_path, [1e-3, -0.1], 5)
    monkeypatch.chdir(tmp_path)
    assert noise_ablate.main() == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: noise.sigmas[1]") and "\n" not in err
