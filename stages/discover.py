"""Stage `discover@<n>x<m>x<p>`: flip-graph walks toward the target rank of one format ->
schemes/found/<n>x<m>x<p>-r<R>/<fingerprint>.json (and index.json, written even when
nothing is found) and metrics/discover/<n>x<m>x<p>.json.  Each walk's schemes are written as it
finishes; SIGINT or SIGTERM stops the walks with one line, the finished ones kept.
Usage: python -m stages.discover 3x3x3   (a key of params discover.targets)
Reads: params.yaml (seed, discover.targets.<n>x<m>x<p>, discover.seeds, discover.max_flips,
discover.plateau, discover.samples, discover.sample_every, discover.max_coefficient). Writes:
schemes/found/<n>x<m>x<p>-r<R>, metrics/discover/<n>x<m>x<p>.json."""

from __future__ import annotations

import sys

from bilinear import params as blocks
from bilinear.io import write_json
from bilinear.params import Field, ParamError, read_sections
from bilinear.search import discover
from bilinear.search.executor import Interrupted, scheduler_address
from bilinear.stage import stage_main

SPECS = {
    "seed": blocks.SEED,
    "discover": {
        "targets": Field(dict),
        "seeds": Field(int, low=1, high=100000),
        "max_flips": Field(int, low=1),
        "plateau": Field(int, low=1),
        "samples": Field(int, low=1, high=1000),
        "sample_every": Field(int, low=1),
        "max_coefficient": Field(int, low=1, high=1000),
        "workers": Field(int, low=1, high=64),
        "scheduler": Field(str, nullable=True),
    },
}


def read_params(key: str, path: str = "params.yaml") -> tuple[int, dict, tuple, int]:
    """(master seed, discover section, format, target rank) for the target `key`."""
    params = read_sections(SPECS, path)
    cfg = params["discover"]
    if not cfg["targets"]:
        raise ParamError("discover.targets: expected at least one <n>x<m>x<p>: rank entry")
    for name, rank in cfg["targets"].items():
        discover.check_rank(name, rank)
    if key not in cfg["targets"]:
        raise ParamError(f"discover.targets: no entry {key} (targets {sorted(cfg['targets'])})")
    return params["seed"], cfg, discover.parse_format(key), cfg["targets"][key]


@stage_main
def main(argv: list[str] | None = None) -> int:
    """Search one target and write its schemes and metrics."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise ParamError(f"usage: python -m stages.discover <n>x<m>x<p> (got {args})")
    seed, cfg, fmt, rank = read_params(args[0])
    search = discover.Search(cfg["max_flips"], cfg["plateau"], cfg["samples"],
                             cfg["sample_every"], cfg["max_coefficient"])
    address = scheduler_address(cfg["scheduler"])
    folder = f"schemes/found/{args[0]}-r{rank}"
    try:
        results = discover.search_into(folder, fmt, rank, seed, search, cfg["seeds"],
                                       cfg["workers"], address, args[0], own=True)
    except Interrupted as exc:
        print(f"error: discover@{args[0]}: {exc}; their schemes are in {folder} (index.json "
              "lists them); metrics not written", file=sys.stderr)
        return exc.exit_code
    metrics = discover.summarize(fmt, rank, results)
    metrics["executor"] = "dask" if address else "local processes"
    write_json(f"metrics/discover/{args[0]}.json", metrics)
    print(f"discover@{args[0]}: rank {rank}: {metrics['exact']}/{metrics['tried']} walks exact, "
          f"best rank {metrics['best_rank']}, {metrics['distinct_fingerprints']} distinct "
          f"fingerprints, {metrics['search_seconds']:.0f} s of search")
    return 0


if __name__ == "__main__":
    sys.exit(main())
