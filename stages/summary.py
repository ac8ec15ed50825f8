"""Stage `summary`: the headline numbers of an experiment -> metrics/summary.json (the DVC
metrics `dvc exp show` and `dvc metrics diff` print; bilinear.report.summary).
Reads: metrics/discretize.json, metrics/verify.json, metrics/bench.json. Writes:
metrics/summary.json."""

from __future__ import annotations

import sys

from bilinear.io import read_json, write_json
from bilinear.report.summary import summarize
from bilinear.stage import stage_main

OUT = "metrics/summary.json"


@stage_main
def main() -> int:
    """Write metrics/summary.json from the discretize, verify and bench metrics."""
    summary = summarize(read_json("metrics/discretize.json"), read_json("metrics/verify.json"),
                        read_json("metrics/bench.json"))
    write_json(OUT, summary)
    print(f"wrote {OUT}: " + ", ".join(f"{k} {v}" for k, v in summary.items()
                                       if not k.endswith(("_low", "_high"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
