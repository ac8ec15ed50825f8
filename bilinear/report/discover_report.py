"""The report's discovery section: each target's best rank beside the best known one."""

from __future__ import annotations

from bilinear.report.report import _g


def discover_section(metrics: dict) -> list[str]:
    """Markdown lines from metrics/discover.json (empty when it is absent)."""
    targets = (metrics.get("discover") or {}).get("targets") or {}
    if not targets:
        return []
    lines = ["## Discovery: schemes of small formats (metrics/discover.json)", "",
             "Flip-graph random walks (Kauers and Moosbauer 2022) from the standard algorithm, "
             "coefficients kept in {-1, 0, 1}; every scheme is verified exactly and written once "
             "per fingerprint to schemes/found/. Best known ranks over the integers: AlphaTensor "
             "(2022) and the flip-graph searches of Kauers and Moosbauer (2022-2025); Heule, "
             "Kauers and Seidl (2019) found more than 13,000 inequivalent <3,3,3>:23 schemes.", "",
             "| target | best known | best found | walks exact | yield [95% CI] | s per exact walk "
             "| distinct fingerprints | per hour |", "|---|---|---|---|---|---|---|---|"]
    for key, t in targets.items():
        y = t["yield"]
        ci = (f"{y['rate']:.0%} [{y['ci_low']:.0%}, {y['ci_high']:.0%}]"
              if y["rate"] is not None else "n/a")
        lines.append(f"| {key}:{t['target_rank']} | {_g(t['best_known_rank'])} | "
                     f"{_g(t['best_rank'])} | {t['exact']}/{t['tried']} | {ci} | "
                     f"{_g(t['seconds_per_exact_scheme'])} | {t['distinct_fingerprints']} | "
                     f"{_g(t['fingerprints_per_hour'])} |")
    reached = [k for k, t in targets.items()
               if t["best_rank"] is not None and t["best_rank"] <= t["target_rank"]]
    lines += ["", f"Reached the target rank: {len(reached)} of {len(targets)} targets "
                  f"({', '.join(reached) or 'none'})."]
    return lines
