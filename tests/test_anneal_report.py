"""anneal's report rows and section, and the grid analysis, on small hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bilinear.report import anneal_report
from bilinear.report.anneal_plots import grid_diagram
from bilinear.report.figures import png_bytes
from bilinear.studies.anneal_grid import analyze


def _rate(k: int, n: int) -> dict:
    return {"rate": k / n, "successes": k, "n": n, "ci_low": max(k / n - 0.05, 0),
            "ci_high": min(k / n + 0.05, 1)}


def _method(k: int, p_batch: float | None) -> dict:
    paired = ({"degenerate": True, "p": None} if p_batch is None
              else {"degenerate": False, "p": p_batch, "eta_sq": 0.1})
    return {"exact_only": _rate(k, 195), "strassen_equivalent": _rate(k, 195),
            "overall": _rate(k, 195), "protocol_b_success_paired": paired,
            "success_rate": {"8": _rate(29, 30), "128": _rate(28, 30)}}


@pytest.fixture
def metrics() -> dict:
    cond = {"runs": 5, "exact_round": 0, "exact_sparsify": 5, "exact_anneal": 5}
    return {"discretize": {"method": "anneal", "exact": True, "equivalent_to_strassen": True},
            "anova": {"anneal": _method(190, 0.01), "anneal_equal_steps": _method(193, 0.6)},
            "conditions": {"conditions": {
                "paper_B32": {**cond, "exact_anneal_no_penalty": 4},
                "untrained_control": {**cond, "exact_anneal": 2}}},
            "anneal_grid": {"runs": 32, "batch_size": 32, "overall": _rate(30, 32),
                            "anova": {"degenerate": False, "p": 0.5, "eta_sq": 0.01,
                                      "l1": {"p": 0.001, "eta_sq": 0.2}}}}


def _verdicts(metrics: dict) -> list[str]:
    return [c(metrics).verdict for c in anneal_report.CLAIMS]


def test_verdict_rules(metrics):
    # yield high; a batch effect at equal epochs that vanishes at equal steps; no weight decay
    assert _verdicts(metrics) == ["reproduced", "artifact explained", "not reproduced"]
    metrics["anova"]["anneal_equal_steps"]["protocol_b_success_paired"]["p"] = 0.001
    metrics["anova"]["anneal"]["exact_only"] = _rate(20, 195)
    metrics["anneal_grid"]["anova"]["p"] = 0.01
    assert _verdicts(metrics) == ["not reproduced", "reproduced", "reproduced"]
    for name in ("anneal", "anneal_equal_steps"):
        metrics["anova"][name]["protocol_b_success_paired"] = {"degenerate": True, "p": None}
    metrics["anneal_grid"]["anova"] = {"degenerate": True, "reason": "outcome is constant"}
    assert _verdicts(metrics)[1:] == ["not testable", "not testable"]


def test_section_lists_every_condition_and_the_controls(metrics):
    lines = anneal_report.section(metrics)
    text = "\n".join(lines)
    assert lines[0] == "## A recipe that crystallizes by training"
    assert "| paper_B32 | 0/5 | 5/5 | 5/5 | no_penalty 4/5 |" in text
    assert "From the untrained initialisation anneal gives 2/5" in text
    assert "B8 97%" in text


def _grid_rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for wd in (0.0, 1e-3):
        for l1 in (0.0, 1e-3):
            for s in range(15):
                p = 0.8 if l1 else 0.3  # L1 matters, weight decay does not
                rows.append({"weight_decay": wd, "l1": l1, "seed": s,
                             "exact": bool(rng.random() < p), "margin": 0.01,
                             "phase1_train_loss": 1e-6})
    return pd.DataFrame(rows)


def test_grid_analysis_finds_the_factor_that_acts():
    metrics, cells = analyze(_grid_rows(), 0.05)
    assert metrics["runs"] == 60 and len(cells) == 4
    assert metrics["anova"]["l1"]["p"] < 0.05 < metrics["anova"]["p"]
    assert metrics["logit"]["coef"]["log10_l1"] > 0
    assert all(c["ci_low"] <= c["rate"] <= c["ci_high"] for c in metrics["cells"])
    png = png_bytes(grid_diagram(cells, 32))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_thesis_verdict_follows_the_measurements(metrics):
    text = anneal_report.verdict(metrics)
    assert "does crystallize" in text and "Weight decay does not change it" in text
    assert "the L1 strength does" in text and "Phase 1 contributes" in text  # control 2/5
    metrics["conditions"]["conditions"]["untrained_control"]["exact_anneal"] = 5
    assert "not from the paper's Phase 1" in anneal_report.verdict(metrics)
    metrics["anova"]["anneal"]["exact_only"] = _rate(20, 195)
    assert anneal_report.verdict(metrics).startswith("anneal does not crystallize reliably")


def test_cost_line_compares_anneal_with_phase1(metrics):
    metrics["sweep_bench"] = {"full_study": {"runs": 195, "train_s": 50.0,
                                             "anneal_s": {"anneal": 75.0}}}
    assert "(1.5 times)" in "\n".join(anneal_report.section(metrics))
