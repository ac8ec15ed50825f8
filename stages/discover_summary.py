"""Stage `discover_summary`: every target's metrics in one file -> metrics/discover.json,
plots/discover.csv and plots/discover.png (yield and time per scheme), and
plots/discover_rank_time.csv and .png (rank against core-seconds per format).
Reads: params.yaml (discover.targets), metrics/discover. Writes: plots/discover.csv,
plots/discover.png, plots/discover_rank_time.csv, plots/discover_rank_time.png,
metrics/discover.json."""

from __future__ import annotations

import sys
from pathlib import Path

from bilinear.checks import InputError, Outputs
from bilinear.io import read_json
from bilinear.params import Field, ParamError, load_params, validate
from bilinear.report.discover_plots import (
    discover_figure,
    discover_rows,
    rank_time_figure,
    rank_time_rows,
)
from bilinear.stage import stage_main


def _read_target(key: str) -> dict:
    """metrics/discover/<key>.json, checked to give a row of the summary; InputError naming the
    file otherwise."""
    path = f"metrics/discover/{key}.json"
    try:
        doc = read_json(path)
        discover_rows({key: doc})
        rank_time_rows({key: doc})
        if not all(isinstance(doc[k], int | None) for k in ("best_rank", "best_known_rank")):
            raise TypeError("best_rank and best_known_rank must be integers or null")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: unexpected content ({type(exc).__name__}: {exc})") from None
    return doc


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
    summary = {k: _read_target(k) for k in keys}
    out = Outputs()
    out.add_json("metrics/discover.json", {"targets": summary}, "the targets' metrics")
    rows = discover_rows(summary)
    out.add_csv("plots/discover.csv", rows)
    out.add_bytes("plots/discover.png", discover_figure(rows))
    out.add_csv("plots/discover_rank_time.csv", rank_time_rows(summary))
    out.add_bytes("plots/discover_rank_time.png", rank_time_figure(summary))
    at_best = sum(t["best_rank"] is not None and t["best_known_rank"] is not None
                  and t["best_rank"] <= t["best_known_rank"] for t in summary.values())
    out.commit()
    print(f"discover_summary: {len(keys)} targets, {at_best} reached the best known rank")
    return 0


if __name__ == "__main__":
    sys.exit(main())
