"""Stage `discover@<n>x<m>x<p>`: pooled flip-graph search toward the target rank of one format
(bilinear.search.pool) -> schemes/found/<n>x<m>x<p>-r<R>/schemes.jsonl.gz (one compressed
bundle, an entry per refined fingerprint) and index.json, written even when nothing is found,
and metrics/discover/<n>x<m>x<p>.json (with the time-to-rank table and lift counts).  The
schemes of the finished rounds are written every 30 s (with a progress line on stderr) and at
the end; SIGINT or SIGTERM stops the walks with one line, the finished rounds' schemes written.
Targets in discover.packed run Moosbauer and Poole's search instead (bilinear.search.pool).
Usage: python -m stages.discover 3x3x3   (a key of params discover.targets)
Reads: params.yaml (seed, discover). Writes: schemes/found/<n>x<m>x<p>-r<R>,
metrics/discover/<n>x<m>x<p>.json."""

from __future__ import annotations

import sys
import time

from bilinear import params as blocks
from bilinear.io import write_json
from bilinear.params import Field, ParamError, read_sections
from bilinear.search import census, discover, pool, symmetric
from bilinear.search.executor import Interrupted, scheduler_address
from bilinear.search.flips import RINGS
from bilinear.seeds import walk_seed
from bilinear.stage import stage_main

WRITE_SECONDS = 30  # the bundle is rewritten at most this often while rounds come in

SPECS = {
    "seed": blocks.SEED,
    "discover": {
        "targets": Field(dict),
        "seeds": Field(int, low=1, high=1000),
        "ring": Field(str, choices=RINGS),
        "walkers": Field(int, low=1, high=1000),
        "pool_size": Field(int, low=1, high=10000),
        "round_flips": Field(int, low=1),
        "max_rounds": Field(int, low=1),
        "plateau": Field(int, low=1),
        "samples": Field(int, low=1, high=1000),
        "sample_every": Field(int, low=1),
        "max_coefficient": Field(int, low=1, high=1000),
        "lift_steps": Field(int, low=1, high=19),
        "collect_rounds": Field(int, low=0, high=100000),
        "restart_above": Field(int, low=0, high=100000),
        "census": Field(dict),
        "equivalence_checks": Field(int, low=0, high=1000000),
        "symmetric": Field(list, item=str),
        "packed": Field(dict),
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
    for name, rounds in cfg["census"].items():
        if name not in cfg["targets"]:
            raise ParamError(f"discover.census.{name}: not a target (targets "
                             f"{sorted(cfg['targets'])})")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or not 0 <= rounds <= 100000:
            raise ParamError(f"discover.census.{name}: expected collect rounds in [0, 100000], "
                             f"got {rounds!r}")
    for name in cfg["symmetric"]:
        try:
            n, m, p = discover.parse_format(name)
        except ParamError:
            raise ParamError(f"discover.symmetric: {name!r} is not a format <n>x<m>x<p>, e.g. "
                             "4x4x4") from None
        if not n == m == p:
            raise ParamError(f"discover.symmetric: {name} is not square (n x n x n); only square "
                             "formats have the Z3-symmetric flip graph")
    for name, entry in cfg["packed"].items():
        packed_search(name, entry, cfg)
    if key not in cfg["targets"]:
        raise ParamError(f"discover.targets: no entry {key} (targets {sorted(cfg['targets'])})")
    return params["seed"], cfg, discover.parse_format(key), cfg["targets"][key]


PACKED = {"cubes": Field(list, item=list, min_len=1), "flips": Field(int, low=1),
          "patience": Field(int, low=0), "plateau": Field(int, low=1)}


def packed_search(name: str, entry, cfg: dict) -> pool.PackedSearch:
    """The PackedSearch of discover.packed.<name> (a square target, not also symmetric, whose
    cube start's fixed products leave the target rank reachable); ParamError otherwise."""
    where = f"discover.packed.{name}"
    if name not in cfg["targets"]:
        raise ParamError(f"{where}: not a target (targets {sorted(cfg['targets'])})")
    if name in cfg["symmetric"]:
        raise ParamError(f"{where}: also in discover.symmetric; a target walks in one graph")
    n, m, p = discover.parse_format(name)
    if not n == m == p:
        raise ParamError(f"{where}: {name} is not square (n x n x n); only square formats "
                         "have cube starts")
    if not isinstance(entry, dict) or set(entry) != set(PACKED):
        raise ParamError(f"{where}: expected the keys {sorted(PACKED)}, got {entry!r}")
    values = {k: PACKED[k].check(f"{where}.{k}", entry[k]) for k in PACKED}
    if not all(isinstance(i, int) and not isinstance(i, bool) for part in values["cubes"]
               for i in part):
        raise ParamError(f"{where}.cubes: expected lists of indices, got {values['cubes']!r}")
    cubes = tuple(tuple(part) for part in values["cubes"])
    try:
        fixed, orbits = symmetric.orbits(symmetric.cube_start(n, cubes), n)
    except ValueError as exc:
        raise ParamError(f"{where}.cubes: {exc}") from None
    target = cfg["targets"][name]
    if target % 3 != len(fixed) % 3 or target > len(fixed) + 3 * len(orbits):
        raise ParamError(f"{where}.cubes: {len(fixed)} fixed products, kept by the packed "
                         f"walker, make the ranks {len(fixed)} + 3k up to "
                         f"{len(fixed) + 3 * len(orbits)}; the target {target} is not one")
    return pool.PackedSearch(cubes, values["flips"], values["patience"], values["plateau"])


def progress_line(key: str, runs: list[pool.Run]) -> str:
    """One line on the runs so far: rounds, ranks (and lowest GF(2) ranks of packed runs),
    schemes kept and core-seconds."""
    ranks = ", ".join(str(r.rank) + (f" (GF(2) {r.gf2_rank})" if r.gf2_rank is not None else "")
                      for r in runs)
    return (f"discover@{key}: {sum(r.rounds for r in runs)} rounds, run ranks {ranks}, "
            f"{sum(len(r.schemes) for r in runs)} schemes kept, "
            f"{sum(r.core_seconds for r in runs):.0f} core-s")


@stage_main
def main(argv: list[str] | None = None) -> int:
    """Search one target and write its schemes and metrics."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise ParamError(f"usage: python -m stages.discover <n>x<m>x<p> (got {args})")
    seed, cfg, fmt, rank = read_params(args[0])
    search = pool.PoolSearch(cfg["ring"], cfg["walkers"], cfg["pool_size"], cfg["round_flips"],
                             cfg["max_rounds"], cfg["plateau"], cfg["samples"],
                             cfg["sample_every"], cfg["max_coefficient"], cfg["lift_steps"],
                             cfg["census"].get(args[0], cfg["collect_rounds"]),
                             args[0] in cfg["symmetric"], cfg["restart_above"],
                             packed_search(args[0], cfg["packed"][args[0]], cfg)
                             if args[0] in cfg["packed"] else None)
    address = scheduler_address(cfg["scheduler"])
    seeds = [walk_seed(seed, fmt, k) for k in range(cfg["seeds"])]
    folder = f"schemes/found/{args[0]}-r{rank}"
    writer, written, last = discover.FoundWriter(folder, own=True), set(), [time.monotonic()]

    def on_round(runs: list[pool.Run]) -> None:  # each run's new schemes, written every 30 s
        for run in runs:
            new = {k: v for k, v in run.schemes.items() if (run.seed, k) not in written}
            written.update((run.seed, k) for k in new)
            if new:
                writer.add(new, write=False)
        if time.monotonic() - last[0] > WRITE_SECONDS:
            writer.flush()
            last[0] = time.monotonic()
            print(progress_line(args[0], runs), file=sys.stderr, flush=True)

    try:
        runs = pool.pooled_search(fmt, rank, seeds, search, cfg["workers"], address, args[0],
                                  on_round)
        found = discover.unique_schemes([{"seed": r.seed, "schemes": r.schemes} for r in runs])
        extra, checks = census.resolve(found, pool.collisions(runs, found),
                                       cfg["equivalence_checks"], cfg["workers"], address,
                                       f"{args[0]} equivalence checks")
    except Interrupted as exc:
        writer.flush()
        print(f"error: discover@{args[0]}: {exc}; the finished rounds' schemes are in {folder} "
              "(index.json lists them); metrics not written", file=sys.stderr)
        return exc.exit_code
    writer.finish({**found, **extra})
    metrics = pool.summarize_runs(fmt, rank, runs, search, discover.best_known(fmt),
                                  len(found) + len(extra), checks)
    metrics["executor"] = "dask" if address else "local processes"
    write_json(f"metrics/discover/{args[0]}.json", metrics)
    lifts = metrics["lift"]
    print(f"discover@{args[0]}: rank {rank}: {metrics['exact']}/{metrics['tried']} runs reached "
          f"it, best rank {metrics['best_rank']}, {metrics['certified_classes']} certified "
          f"classes ({checks['inequivalent']} of them beyond the fingerprint, "
          f"{checks['checked']} of {checks['collisions']} collisions checked), "
          f"{metrics['search_seconds']:.0f} core-s; lifts {lifts['lifted']}/"
          f"{lifts['attempts']} ({lifts['proved_unliftable']} provably unliftable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
