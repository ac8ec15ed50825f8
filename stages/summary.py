"""Stage `summary`: the headline numbers of an experiment -> metrics/summary.json (the DVC
metrics `dvc exp show` and `dvc metrics diff` print; bilinear.report.summary).
Reads: metrics/discretize.json, metrics/verify.json, metrics/bench.json. Writes:
metrics/summary.json."""

from __future__ import annotations

import sys

from bilinear.checks import InputError, Outputs, check_entries
from bilinear.io import read_json
from bilinear.report.summary import summarize
from bilinear.stage import stage_main

OUT = "metrics/summary.json"


@stage_main
def main() -> int:
    """Write metrics/summary.json from the discretize, verify and bench metrics."""
    inputs = {}
    for name in ("discretize", "verify", "bench"):
        try:
            inputs[name] = read_json(f"metrics/{name}.json")
        except (OSError, ValueError) as exc:
            raise InputError(f"metrics/{name}.json: cannot be read ({exc})") from None
    check_entries("metrics/discretize.json", inputs["discretize"], {
        "exact": bool, "equivalent_to_strassen": bool, "fallback": bool, "method": str,
        "rank": int, "nonzeros": int, "margin": float})
    check_entries("metrics/verify.json", inputs["verify"], {
        "max_rel_error": dict, "paper_protocol_rel_error": dict, "expansion_success": bool})
    try:
        summary = summarize(inputs["discretize"], inputs["verify"], inputs["bench"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"metrics/discretize.json, metrics/verify.json or metrics/bench.json: "
                         f"unexpected content ({type(exc).__name__}: {exc})") from None
    out = Outputs()
    out.add_json(OUT, summary, "the headline numbers")
    out.commit()
    print(f"wrote {OUT}: " + ", ".join(f"{k} {v}" for k, v in summary.items()
                                       if not k.endswith(("_low", "_high"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
