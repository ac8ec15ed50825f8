"""The report's 3x3 frontier: the paper's <3,3,3> claim beside metrics/frontier.json."""

from __future__ import annotations

from bilinear.report.report import Claim, _g, _rate

PAPER = '"did not converge ... effective rank remained at 27"'


def frontier_claim(m: dict) -> Claim:
    """The paper's <3,3,3> claim: reproduced if no seed crystallizes at the kept rank by any
    method and the trained models' median effective rank equals their slot count."""
    f = m.get("frontier")
    if not f:
        return Claim("<3,3,3> fails", PAPER, "frontier not run", "not testable",
                     "metrics/frontier.json")
    ranks = sorted(f["effective_rank"])
    median_rank = ranks[len(ranks) // 2]
    per_method = "; ".join(f"{name} {_rate(s['yield'])}" for name, s in f["methods"].items())
    measured = (f"{f['slots']} slots: median train loss {_g(f['median_train_loss'])}, median "
                f"effective rank {median_rank}; pruned to {f['pruned_slots']}: median train loss "
                f"{_g(f['median_pruned_train_loss'])}; exact rank-{f['pruned_slots']} schemes: "
                f"{per_method}")
    failed = f["exact_by_any_method"]["successes"] == 0 and median_rank == f["slots"]
    return Claim(f"<3,3,3> with {f['slots']} slots fails", PAPER, measured,
                 "reproduced" if failed else "not reproduced", "metrics/frontier.json")


def frontier_section(m: dict) -> list[str]:
    """Markdown lines: per-method yield, exact schemes, seconds per run and per exact scheme,
    and how the failed runs ended."""
    f = m.get("frontier")
    if not f:
        return []
    fmt = "x".join(str(d) for d in f["format"])
    lines = ["## The 3x3 frontier (metrics/frontier.json)", "",
             f"The paper's recipe at <{fmt}>: {f['runs']} seeds train {f['slots']} slots, are "
             f"pruned to {f['pruned_slots']} and crystallized by each method within "
             f"{_g(f['budget_seconds'])} s per run.", "",
             "| method | exact (95% CI) | schemes (distinct) | s per run | s per exact scheme | "
             "how runs ended |", "|---|---|---|---|---|---|"]
    for name, s in f["methods"].items():
        ends = "; ".join(f"{k} ({v})" for k, v in sorted(s["verdicts"].items()))
        distinct = s.get("distinct_fingerprints", "n/a")
        lines.append(f"| {name} | {_rate(s['yield'])} | {s['exact_schemes']} ({distinct}) | "
                     f"{_g(s['seconds_per_run'])} | {_g(s['seconds_per_exact_scheme'])} | "
                     f"{ends.replace('|', '/')} |")
    lines += ["", f"Exact by any method: {_rate(f['exact_by_any_method'])}."]
    tries = f["methods"].get("anneal", {}).get("attempts")
    if tries:
        first, later = (tries["first_attempt_trained_start"],
                        tries["later_attempts_untrained_start"])
        lines += ["", f"anneal made {tries['attempts_total']} attempts in all (a seed stops at "
                  f"its first exact one). Yield per attempt: from the trained, pruned model "
                  f"{_rate(first)}; from untrained starts of the kept slots (the control: no "
                  f"training by the paper's recipe) {_rate(later)}."]
    return lines
