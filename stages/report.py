"""Stage `report`: metrics/report.md, each paper claim beside our measurement and a verdict.
Reads: params.yaml (task, train.slots), metrics/train.json, metrics/discretize.json,
metrics/verify.json, metrics/noise.json, metrics/kappa.json, metrics/conditions.json,
metrics/anova.json, metrics/bench.json, metrics/sweep_bench.json, metrics/frontier.json,
metrics/anneal_grid.json, metrics/discover.json, metrics/kernel_designs.json,
metrics/leaderboard.json. Writes: metrics/report.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bilinear.io import LoadError, atomic_write_text, read_json
from bilinear.params import load_params
from bilinear.report import anneal_report, hypotheses
from bilinear.report.discover_report import discover_section
from bilinear.report.frontier import frontier_claim, frontier_section
from bilinear.report.kernel_report import designs_section, kernel_section
from bilinear.report.report import build_claims, render
from bilinear.stage import stage_main

METRICS = ["train", "discretize", "verify", "noise", "kappa", "conditions", "anova", "bench",
           "sweep_bench", "frontier", "anneal_grid", "discover", "kernel_designs", "leaderboard",
           "curvature", "gradient_geometry", "init_symmetry", "odds", "finetune"]


def read_metrics(name: str) -> dict:
    """metrics/<name>.json as a mapping; a LoadError naming the file if it is not one."""
    path = f"metrics/{name}.json"
    try:
        data = read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: not valid JSON ({exc}): rerun the stage that writes it") from exc
    if not isinstance(data, dict):
        raise LoadError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


@stage_main
def main() -> int:
    """Read every metrics file and params.yaml, write metrics/report.md."""
    missing = [f"metrics/{name}.json" for name in METRICS
               if not Path(f"metrics/{name}.json").exists()]
    if missing:
        print(f"error: missing {', '.join(missing)}: run the stages that write them",
              file=sys.stderr)
        return 2
    params = load_params()
    metrics = {name: read_metrics(name) for name in METRICS}
    claims = (build_claims(metrics, params) + [c(metrics) for c in anneal_report.CLAIMS]
              + [frontier_claim(metrics)] + [c(metrics) for c in hypotheses.CLAIMS])
    sections = (anneal_report.section(metrics), frontier_section(metrics),
                hypotheses.geometry_section(metrics),
                discover_section(metrics), kernel_section(metrics) + designs_section(metrics))
    atomic_write_text("metrics/report.md", render(claims, metrics, sections))
    verdicts = {}
    for c in claims:
        verdicts[c.verdict] = verdicts.get(c.verdict, 0) + 1
    print(f"report: {len(claims)} claims: " + ", ".join(f"{v} {k}" for k, v in verdicts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
