"""Figure of the discover stages: yield and search time per scheme for every target format."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bilinear.report.figures import png_bytes  # noqa: E402


def discover_rows(targets: dict) -> list[dict]:
    """One plot row per target of metrics/discover.json (format key, rank, yield, seconds)."""
    rows = []
    for key, t in targets.items():
        y = t["yield"]
        rows.append({"target": f"{key}:{t['target_rank']}", "yield": y["rate"],
                     "yield_low": y["ci_low"], "yield_high": y["ci_high"],
                     "seconds_per_exact_scheme": t["seconds_per_exact_scheme"],
                     "distinct_fingerprints": t["distinct_fingerprints"],
                     "certified_classes": t.get("certified_classes", t["distinct_fingerprints"]),
                     "best_rank": t["best_rank"], "best_known_rank": t["best_known_rank"]})
    return rows


def discover_figure(rows: list[dict]) -> bytes:
    """Two panels: yield with Wilson intervals, and seconds per exact scheme (log), per target."""
    names = [r["target"] for r in rows]
    xs = range(len(rows))
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    rates = [r["yield"] or 0.0 for r in rows]
    lo = [rate - (r["yield_low"] or 0.0) for rate, r in zip(rates, rows, strict=True)]
    hi = [(r["yield_high"] or 0.0) - rate for rate, r in zip(rates, rows, strict=True)]
    a.bar(xs, rates, yerr=[lo, hi], capsize=3, color="tab:blue")
    a.set_ylim(0, 1.05)
    a.set_ylabel("walks reaching the target rank")
    a.set_title("Yield per target (Wilson 95%)")
    secs = [r["seconds_per_exact_scheme"] or 0.0 for r in rows]
    b.bar(xs, secs, color="tab:orange")
    b.set_yscale("log")
    b.set_ylabel("seconds of search per exact walk")
    b.set_title("Search time per exact scheme")
    for ax in (a, b):
        ax.set_xticks(list(xs), names, rotation=30, ha="right")
    fig.tight_layout()
    return png_bytes(fig)


def rank_time_rows(targets: dict) -> list[dict]:
    """One row per target and rank of the time-to-rank tables of metrics/discover.json."""
    return [{"format": key, "rank": row["rank"], "reached": row["reached"], "runs": row["runs"],
             "median_core_seconds": row["median_core_seconds"]}
            for key, t in targets.items() for row in t.get("time_to_rank", [])]


def rank_time_figure(targets: dict) -> bytes:
    """Rank against core-seconds from the standard algorithm, per format: each run's descent
    (thin steps) and the median over the runs that reached each rank (markers)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (key, t) in enumerate(targets.items()):
        color = colors[i % len(colors)]
        for run in t.get("runs", []):
            history = run["history"]
            ax.step([max(s, 1e-2) for _, s in history], [r for r, _ in history], where="post",
                    color=color, alpha=0.35, linewidth=0.8)
        rows = [r for r in t.get("time_to_rank", []) if r["median_core_seconds"] is not None]
        ax.plot([max(r["median_core_seconds"], 1e-2) for r in rows], [r["rank"] for r in rows],
                "o-", color=color, markersize=3, label=f"{key} (target {t['target_rank']})")
    ax.set_xscale("log")
    ax.set_xlabel("core-seconds from the standard algorithm (log)")
    ax.set_ylabel("rank reached")
    ax.set_title("Time to rank: pooled flip-graph search (median over runs; thin: each run)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return png_bytes(fig)
