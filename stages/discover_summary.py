"""Stage `discover_summary`: every target's metrics in one file -> metrics/discover.json,
plots/discover.csv and plots/discover.png (yield and time per scheme), and
plots/discover_rank_time.csv and .png (rank against core-seconds per format)."""

from __future__ import annotations

import sys
from pathlib import Path

from bilinear.io import atomic_write_bytes, read_json, write_csv, write_json
from bilinear.params import Field, ParamError, load_params, validate
from bilinear.report.discover_plots import (
    discover_figure,
    discover_rows,
    rank_time_figure,
    rank_time_rows,
)
from bilinear.stage import stage_main


@stage_main
def main() -> int:
    """Collect metrics/discover/<format>.json of every key of discover.targets."""
    section = load_params().get("discover")
    if not isinstance(section, dict):
        raise ParamError("discover: missing parameter section")
    keys = sorted(validate("discover.targets", section.get("targets"), Field(dict)))
    missing = [k for k in keys if not Path(f"metrics/discover/{k}.json").exists()]
    if missing:
        raise ParamError(f"discover.targets: no metrics/discover/<key>.json for {missing}: run "
                         f"the discover@<key> stages")
    summary = {k: read_json(f"metrics/discover/{k}.json") for k in keys}
    write_json("metrics/discover.json", {"targets": summary})
    rows = discover_rows(summary)
    write_csv("plots/discover.csv", rows)
    atomic_write_bytes("plots/discover.png", discover_figure(rows))
    write_csv("plots/discover_rank_time.csv", rank_time_rows(summary))
    atomic_write_bytes("plots/discover_rank_time.png", rank_time_figure(summary))
    at_best = sum(t["best_rank"] is not None and t["best_known_rank"] is not None
                  and t["best_rank"] <= t["best_known_rank"] for t in summary.values())
    print(f"discover_summary: {len(keys)} targets, {at_best} reached the best known rank")
    return 0


if __name__ == "__main__":
    sys.exit(main())
