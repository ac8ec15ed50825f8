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
