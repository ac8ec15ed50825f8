"""The report's discovery section: each target's best rank beside the best known one, the
time-to-rank table beside published search costs, and the lift counts of GF(2) runs."""

from __future__ import annotations

from bilinear.report.report import _g

PUBLISHED = {  # search costs quoted from the literature, for comparison (not measured here)
    "4x4x4": "a 12-thread ternary flip-graph run was still at rank 52 after about 2 core-hours",
    "5x5x5": "rank 93 (Z3-symmetric walks over GF(2), lifted) in about 1 of 30 runs of ~10 s, "
             "about 5 core-minutes per hit (Moosbauer and Poole 2025)",
    "3x3x3": "Heule, Kauers and Seidl (2019) list about 17,000 pairwise inequivalent rank-23 "
             "schemes",
}


def _ci(y: dict) -> str:
    if y["rate"] is None:
        return "n/a"
    return f"{y['rate']:.0%} [{y['ci_low']:.0%}, {y['ci_high']:.0%}]"


def time_to_rank_lines(targets: dict) -> list[str]:
    """The time-to-rank table: per format and rank, the runs reaching it, their median
    core-seconds from the standard algorithm and each run's."""
    lines = ["| format | rank | runs reaching it | median core-s (those runs) | "
             "core-s per run (- : not reached) |", "|---|---|---|---|---|"]
    for key, t in targets.items():
        for row in t.get("time_to_rank", []):
            per_run = ", ".join("-" if s is None else _g(s) for s in row["core_seconds"])
            lines.append(f"| {key} | {row['rank']} | {row['reached']}/{row['runs']} | "
                         f"{_g(row['median_core_seconds'])} | {per_run} |")
    return lines


def discover_section(metrics: dict) -> list[str]:
    """Markdown lines from metrics/discover.json (empty when it is absent)."""
    targets = (metrics.get("discover") or {}).get("targets") or {}
    if not targets:
        return []
    lines = ["## Discovery: schemes of small formats (metrics/discover.json)", "",
             "Pooled flip-graph search (Kauers and Moosbauer 2022; pools as in Arai, Ichikawa "
             "and Hukushima 2024): runs start from the standard algorithm, rounds of walks "
             "restart from a pool of schemes at the run's rank, and the pool moves down as soon "
             "as one walk reaches a lower rank. Every scheme is verified exactly (GF(2) walks "
             "count only once Hensel-lifted) and written once per refined fingerprint (a "
             "certified invariant) to schemes/found/; a later scheme whose fingerprint is kept "
             "with another one goes to the explicit equivalence search (up to "
             "discover.equivalence_checks per target) and is kept as a class of its own when "
             "certified inequivalent, so the classes counted are pairwise inequivalent. The rate "
             "counts the searches' core-seconds too. Best known ranks over the integers: "
             "AlphaTensor (2022) and the flip-graph searches of Kauers and Moosbauer "
             "(2022-2025).", "",
             "| target | ring | best known | best found | runs reaching it | yield [95% CI] | "
             "median core-s to it | certified classes | per core-hour |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key, t in targets.items():
        lines.append(f"| {key}:{t['target_rank']} | {t.get('ring', 'integer')} | "
                     f"{_g(t['best_known_rank'])} | {_g(t['best_rank'])} | "
                     f"{t['exact']}/{t['tried']} | {_ci(t['yield'])} | "
                     f"{_g(t.get('median_core_seconds_to_target'))} | "
                     f"{t.get('certified_classes', t['distinct_fingerprints'])} | "
                     f"{_g(t.get('classes_per_core_hour', t['fingerprints_per_hour']))} |")
    reached = [k for k, t in targets.items()
               if t["best_rank"] is not None and t["best_rank"] <= t["target_rank"]]
    lines += ["", f"Reached the target rank: {len(reached)} of {len(targets)} targets "
                  f"({', '.join(reached) or 'none'}).", ""]
    below = [f"{k}: rank {t['best_rank']} < {t['best_known_rank']}" for k, t in targets.items()
             if t["best_rank"] is not None and t["best_known_rank"] is not None
             and t["best_rank"] < t["best_known_rank"]]
    if below:
        lines += [f"**Below the best known integer rank:** {'; '.join(below)} (verified "
                  f"schemes in schemes/found/).", ""]
    checked = {k: t["equivalence_checks"] for k, t in targets.items()
               if (t.get("equivalence_checks") or {}).get("checked")}
    if checked:
        lines += ["Equal refined fingerprints, decided by the explicit search (checked of "
                  "collisions: equivalent / certified inequivalent / undecided): "
                  + "; ".join(f"{k}: {c['checked']} of {c['collisions']}: {c['equivalent']} / "
                              f"{c['inequivalent']} / {c['undecided']}"
                              for k, c in checked.items()) + ".", ""]
    packed = {k: t["packed"] for k, t in targets.items() if t.get("packed")}
    if packed:
        lines += ["Packed targets (Moosbauer and Poole's search: independent packed GF(2) "
                  "symmetric walks from a cube start, lifted at the target; their time to rank "
                  "counts from that start and lists only the target): "
                  + "; ".join(f"{k}: parts {p['cubes']}, start rank {p['start_rank']}, "
                              f"lowest rank over GF(2) {_g(p['best_gf2_rank'])}"
                              for k, p in packed.items()) + ".", ""]
    lines += ["### Time to rank (core-seconds from the standard algorithm)", "",
              "A rank's time is the run's process time summed over its walks up to the end of "
              "the round that first reached it (plots/discover_rank_time.png).", "",
              *time_to_rank_lines(targets), ""]
    published = [f"- {k}: {text}" for k, text in PUBLISHED.items()]
    lines += ["Published figures for comparison (quoted, not measured here):", "", *published]
    lifts = {k: t["lift"] for k, t in targets.items() if t.get("lift", {}).get("attempts")}
    if lifts:
        counts = [f"{k}: {c['attempts']} / {c['lifted']} / "
                  f"{c['obstructed'] + c['proved_unliftable']} ({c['proved_unliftable']}) / "
                  f"{c['unreconstructed']}" for k, c in lifts.items()]
        lines += ["", "Hensel lifts of GF(2) schemes (attempted / lifted / obstructed (of "
                      "which provably unliftable) / unreconstructed): " + "; ".join(counts)
                  + "."]
    return lines
