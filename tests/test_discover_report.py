"""The report's discovery section and figures from pooled-search metrics."""

from __future__ import annotations

from bilinear.report.discover_plots import rank_time_figure, rank_time_rows
from bilinear.report.discover_report import discover_section
from bilinear.search.pool import PackedSearch, PoolSearch, Run, summarize_runs

CFG = PoolSearch("gf2", 2, 4, 1000, 3, 100, 1, 1, 1, 19)


def _metrics():
    runs = [Run(1, 7, [], 4.0, history=[[8, 0.0], [7, 2.0]]),
            Run(2, 8, [], 3.0, history=[[8, 0.0]])]
    runs[0].lift.update({"attempts": 3, "lifted": 2, "proved_unliftable": 1})
    runs[0].schemes = {"2x2x2-r7-abc": "{}"}
    return {"discover": {"targets": {"2x2x2": summarize_runs((2, 2, 2), 7, runs, CFG, 7)}}}


def test_section_quotes_the_time_to_rank_table_and_lifts():
    text = "\n".join(discover_section(_metrics()))
    assert "| 2x2x2:7 | gf2 | 7 | 7 | 1/2 | 50% [" in text and "| 2 | 1 | 514 |" in text
    assert "| 2x2x2 | 7 | 1/2 | 2 | 2, - |" in text
    assert "2x2x2: 3 / 2 / 1 (1) / 0" in text
    assert "Below the best known" not in text and "Packed targets" not in text
    assert discover_section({}) == []


def test_section_names_the_start_of_packed_targets():
    cfg = PoolSearch(**{**CFG.__dict__, "packed": PackedSearch(((0, 1), (2,)), 10, 0, 5)})
    runs = [Run(1, 23, [], 4.0, history=[[32, 0.0], [23, 2.0]], gf2_rank=23),
            Run(2, 32, [], 3.0, history=[[32, 0.0]], gf2_rank=26)]
    metrics = {"discover": {"targets": {"3x3x3": summarize_runs((3, 3, 3), 23, runs, cfg, 23)}}}
    text = "\n".join(discover_section(metrics))
    assert "3x3x3: parts [[0, 1], [2]], start rank 32, lowest rank over GF(2) 23" in text
    assert "| 3x3x3 | 23 | 1/2 | 2 | 2, - |" in text and "| 3x3x3 | 24 |" not in text


def test_rank_time_rows_and_figure():
    targets = _metrics()["discover"]["targets"]
    assert rank_time_rows(targets) == [{"format": "2x2x2", "rank": 7, "reached": 1, "runs": 2,
                                        "median_core_seconds": 2.0}]
    assert rank_time_figure(targets).startswith(b"\x89PNG")
