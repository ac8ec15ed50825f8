"""The claims report: verdict rules on small hand-made metrics, and the rendered table."""

from __future__ import annotations

import copy

import pytest

from bilinear.report import report


def _rate(k: int, n: int, lo: float, hi: float) -> dict:
    return {"rate": k / n, "successes": k, "n": n, "ci_low": lo, "ci_high": hi}


def _anova(k: int) -> dict:
    effect = {"F": 15.0, "p": 1e-6, "eta_sq": 0.25, "df": [7, 186], "degenerate": False}
    return {"overall": _rate(k, 195, k / 195 - 0.07, k / 195 + 0.07), "two_way": effect,
            "protocol_a_margin": effect, "protocol_a_margin_paired": effect,
            "best_range": {"best": 32, "low": 24, "high": 64, "degenerate": False},
            "kappa_prediction": {"headline": "kappa_5", "kappa_5": {
                "accuracy": 0.6, "accuracy_ci_low": 0.53, "accuracy_ci_high": 0.67, "auc": 0.6,
                "auc_ci_low": 0.5, "auc_ci_high": 0.7, "baseline": {"rate": 0.58},
                "degenerate": False}}}


def _condition(batch: int, wd: float, epochs: int, round_ok: int, groks: int = 0) -> dict:
    return {"batch_size": batch, "weight_decay": wd, "epochs": epochs, "n_train": 1024, "runs": 5,
            "exact_round": round_ok, "exact_sparsify": 5, "exact_phase1_round": 0,
            "grokked_runs": groks, "median_grokking_epoch": 450.0 if groks else None,
            "memorization_plateau_runs": groks, "median_margin_round": 0.5}


def _cell(speedup: float) -> dict:
    return {"speedup_vs_blas": speedup, "speedup_vs_numpy": speedup, "levels": 4,
            "rel_error": 1e-14}


@pytest.fixture
def metrics() -> dict:
    sigma = {"0.001": {"success_rate": 1.0}}
    return {
        "discretize": {"method": "sparsify", "exact": True, "fallback": False, "nonzeros": 36,
                       "equivalent_to_strassen": True},
        "anova": {"round": _anova(133), "sparsify": _anova(180)},
        "conditions": {"conditions": {
            "paper_B32": _condition(32, 1e-4, 1000, 3, groks=3),
            "large_B512": _condition(512, 1e-4, 1000, 0),
            "no_weight_decay": _condition(32, 0.0, 1000, 0),
            "short_100_epochs": _condition(32, 1e-4, 100, 0)}},
        "noise": {"tolerance": 1e-5, "readings": {
            "round_verify": {"discrete": {"sigma": sigma, "threshold": 0.1},
                             "typo": {"baseline": {"success": False}}},
            "unrounded": {"discrete": {"threshold": 1e-6}}}},
        "kappa": {"checkpoints": {"discrete": {"degenerate": True, "trace_over_d": 0.0,
                                               "kappa": None, "rank": 0},
                                  "trained": {"kappa": 4e5, "rank": 58, "degenerate": False}}},
        "verify": {"exact": True, "expansion_success": True,
                   "max_rel_error_by_dtype": {"float32": {"64": 5e-7}, "float64": {"64": 1e-15}},
                   "paper_protocol_rel_error": {"64": 3e-6},
                   "permutation_test": {"tested": 5040, "coherent": {"exact": 5040, "inexact": 0},
                                        "w_only": {"exact": 1, "exact_non_identity": 0,
                                                   "mean_rel_error_non_identity": 2.2}}},
        "bench": {"cells": {"float64_t1_n8192": _cell(1.45), "float64_t2_n8192": _cell(1.3)}},
        "sweep_bench": {"train_seconds": 100.0},
    }


PARAMS = {"task": {"format": [2, 2, 2]}, "train": {"slots": 8}}


def _verdicts(metrics: dict) -> dict[str, str]:
    return {c.claim: c.verdict for c in report.build_claims(metrics, PARAMS)}


def test_every_claim_has_a_known_verdict(metrics):
    claims = report.build_claims(metrics, PARAMS)
    assert len(claims) == 15
    assert all(c.verdict in report.VERDICTS for c in claims)


def test_success_rate_inside_the_interval_is_reproduced(metrics):
    assert report.success_rate(metrics).verdict == "reproduced"
    low = copy.deepcopy(metrics)
    low["anova"]["round"] = _anova(40)
    assert report.success_rate(low).verdict == "not reproduced"


def test_noise_typo_and_wide_basin_explain_the_artifact(metrics):
    assert report.noise_claim(metrics).verdict == "artifact explained"
    metrics["noise"]["readings"]["round_verify"]["discrete"]["sigma"]["0.001"] = {
        "success_rate": 0.0}
    assert report.noise_claim(metrics).verdict == "reproduced"


def test_degenerate_kappa_is_never_reported_as_one(metrics):
    claim = report.kappa_claim(metrics)
    assert claim.verdict == "artifact explained" and "undefined" in claim.measured


def test_recipe_and_grokking_rules(metrics):
    verdicts = _verdicts(metrics)
    assert verdicts["1000+ epochs and weight decay >= 1e-4 needed"] == "reproduced"
    assert verdicts["Grokking at B=32, not at B=512"] == "reproduced"
    metrics["conditions"]["conditions"]["no_weight_decay"]["exact_round"] = 3
    assert _verdicts(metrics)["1000+ epochs and weight decay >= 1e-4 needed"] == "not reproduced"


def test_speedup_rules(metrics):
    assert report.speedup(metrics, 1, 1.95).verdict == "not reproduced"  # 1.45 < 0.95 * 1.95
    assert report.speedup(metrics, 2, 0.52).verdict == "not reproduced"  # ours wins at 2 threads
    metrics["bench"]["cells"] = {}
    assert report.speedup(metrics, 1, 1.95).verdict == "not testable"


def test_degenerate_prediction_falls_back_then_is_not_testable(metrics):
    for method in ("round", "sparsify"):
        assert report.kappa_prediction(metrics).verdict == "reproduced"
        metrics["anova"][method]["kappa_prediction"]["kappa_5"] = {"degenerate": True,
                                                                   "reason": "one class"}
    assert report.kappa_prediction(metrics).verdict == "not testable"


def test_memory_arithmetic():
    assert report.memory(PARAMS).verdict == "reproduced"
    assert report.memory({"task": {"format": [2, 2, 2]}, "train": {"slots": 7}}).verdict == \
        "not reproduced"


def test_render_has_one_row_per_claim(metrics):
    claims = report.build_claims(metrics, PARAMS)
    text = report.render(claims, metrics)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ln[2].isdigit()]
    assert len(rows) == len(claims)
    assert "train_seconds: 100" in text
    extra = report.render(claims, metrics, (["## An extra section", "", "text"],))
    assert "## An extra section" in extra and extra.index("## An extra") < extra.index("train_s")


def test_degenerate_anova_is_not_a_crash(metrics):
    metrics["anova"]["round"]["two_way"] = {"degenerate": True, "reason": "no variation",
                                            "p": None}
    assert _verdicts(metrics)["Batch-size effect (ANOVA)"] == "reproduced"  # margin ANOVA
    metrics["anova"]["round"]["protocol_a_margin"] = {"degenerate": True, "p": None}
    verdicts = _verdicts(metrics)
    assert verdicts["Batch-size effect (ANOVA)"] == "not testable"
    assert verdicts["Optimal batch range"] == "reproduced"  # sparsify's effect and range


def _plan(schedule: str, threshold: int | None) -> dict:
    levels = {"breadth": {"gain": -0.01}, "depth": {"gain": 0.08}}
    return {"dtype": "float64", "threads": 1, "schedule": schedule, "threshold": threshold,
            "cells": [{"n": 4096, "levels": levels}, {"n": 8192, "levels": levels}],
            "ceiling": [{"levels": 1, "leaf_n": 4096, "speedup": 1.1},
                        {"levels": 2, "leaf_n": 2048, "speedup": 1.21}]}


def test_kernel_section_and_speed_row_quote_the_plan(metrics):
    from bilinear.report.kernel_report import kernel_section

    assert kernel_section(metrics) == []  # no plans measured: no section
    metrics["bench"]["plans"] = [_plan("depth", 8192)]
    metrics["bench"]["first_call"] = [
        {"dtype": "float64", "schedule": s, "n": 4096, "levels": 1, "first_over_warm": 1.05,
         "workspace_over_operand": w} for s, w in (("breadth", 4.98), ("depth", 0.75))]
    lines = kernel_section(metrics)
    assert "| float64 | 1 | depth | 8192 | N=8192: breadth -1.0%, depth +8.0% | 1.21x (2, 2048) |" \
        in lines
    assert "| float64 | depth | 4096 | 1 | 1.05x | 0.75 |" in lines
    measured = report.speedup(metrics, 1, 1.95).measured
    assert "depth-first, recurses from N=8192" in measured
    assert "at most 1.21x (2 levels)" in measured
    metrics["bench"]["plans"] = [_plan("breadth", None)]
    assert "calls gemm directly at every size" in report.speedup(metrics, 1, 1.95).measured


def test_designs_section_quotes_every_cell_and_the_batched_call():
    from bilinear.report.kernel_report import designs_section

    assert designs_section({}) == []  # not measured: no section
    cells = [{"threads": 1, "design": "gemm", "levels": 0, "schedule": "", "seconds": 10.0,
              "speedup_vs_blas": 1.0, "rel_error": 0.0},
             {"threads": 1, "design": "alternative basis core", "levels": 2, "schedule": "depth",
              "seconds": 9.0, "speedup_vs_blas": 1.111, "speedup_bound_vs_blas": 1.087,
              "rel_error": 2.66e-15}]
    designs = {"n": 8192, "dtype": "float64", "repeats": 3, "cells": cells,
               "additions_per_level": {"plain": 16, "flattened": 201, "core": 8},
               "alternative_basis": {"direct_additions_of_the_scheme": 18,
                                     "direct_additions_of_the_core": 12,
                                     "basis_change_additions": 9},
               "batched_gemm": [{"threads": 2, "products": 7, "block": 4096, "t_batched": 7.09,
                                 "t_sequential": 6.23, "sequential_over_batched": 0.879}]}
    lines = designs_section({"kernel_designs": designs})
    assert "| 1 | gemm | 0 | - | 10.00 | 1.00x | - | 0.0e+00 |" in lines
    assert "| 1 | alternative basis core | 2 | depth | 9.00 | 1.11x | 1.09x | 2.7e-15 |" in lines
    assert any("plain 16, flattened" in line and "core 8" in line for line in lines)
    assert any("7.09 s against 6.23 s" in line and "0.88x" in line for line in lines)
