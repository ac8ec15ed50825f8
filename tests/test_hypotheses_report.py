"""bilinear.report.hypotheses: each row's verdict follows its rule."""

from __future__ import annotations

from bilinear.report import hypotheses as h


def _pred(better: bool) -> dict:
    return {"degenerate": False, "better_than_baseline": better, "accuracy": 0.7,
            "accuracy_ci_low": 0.6, "accuracy_ci_high": 0.8, "baseline": {"rate": 0.55},
            "auc_score": 0.7, "auc_score_ci_low": 0.6, "auc_score_ci_high": 0.8}


def _curvature(better: bool) -> dict:
    summary = {"median": -0.7, "min": -1.0, "max": -0.5}
    ck = {"epochs": [50], "kappa_eff": summary, "n_negative": summary, "eig_min": summary,
          "sparsify": _pred(better), "round": {"degenerate": True, "reason": "one class"}}
    return {"curvature": {"runs": 10, "methods": ["round", "sparsify"],
                          "retrained_vs_sweep_max_rel_diff": 0.0,
                          "headline": {"equal_epochs": "e5", "equal_steps": "s5"},
                          "checkpoints": {"e5": ck, "s5": ck}}}


def test_curvature_verdict():
    assert h.curvature_claim(_curvature(True)).verdict == "reproduced"
    assert h.curvature_claim(_curvature(False)).verdict == "not reproduced"


def _fit(ci_low: float) -> dict:
    factor = {"levels": [0, 1], "odds_ratio": 2.0, "ci_low": ci_low, "ci_high": 9.0}
    return {"degenerate": False, "n": 10, "successes": 5,
            "factors": {f: factor for f in h.PAPER_FACTORS}}


def test_odds_verdict():
    def claim(fits):
        return h.odds_claim({"odds": {"runs": 10, "cells": 2, "methods": fits}}).verdict
    assert claim({"sparsify": _fit(1.5)}) == "reproduced"
    assert claim({"sparsify": _fit(0.5)}) == "not reproduced"
    assert claim({"round": {"degenerate": True, "reason": "one outcome class", "n": 10,
                            "successes": 0}}) == "not testable"


def test_init_verdict():
    def rec(k: int, p: float | None) -> dict:
        out = {"sparsify": {"success": {"successes": k, "n": 10}}}
        if p is not None:
            out["sparsify"]["vs_unequal"] = {"p": p}
        return out
    metrics = {"init_symmetry": {"control": "unequal", "runs_per_init": 10, "inits": {
        "tied": rec(9, 0.01), "independent": rec(9, 0.02), "unequal": rec(2, None)}}}
    assert h.init_claim(metrics).verdict == "reproduced"
    metrics["init_symmetry"]["inits"]["independent"] = rec(3, 0.5)
    assert h.init_claim(metrics).verdict == "not reproduced"


def test_finetune_without_a_learned_scheme_is_not_testable():
    claim = h.finetune_claim({"finetune": {"learned_exact": False, "reason": "fallback"}})
    assert claim.verdict == "not testable" and "fallback" in claim.measured
