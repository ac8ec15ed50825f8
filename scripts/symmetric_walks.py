"""Measure Z3-symmetric flip-graph walks (bilinear.search.symmetric) from the standard algorithm.

Two commands, each printing one JSON line per result and a summary line (core-seconds are the
process time of this process, or of the pool's tasks):

    # independent walks of a fixed flip budget: rank reached, hits of the target, lifts
    .venv/bin/python scripts/symmetric_walks.py runs 5 93 --ring gf2 --seeds 0 40 \\
        --flips 5000000 --plateau 20000 --minutes 20
    # Moosbauer and Poole's setting: fixed products of the diagonal parts {0,4} {1,3} {2}, the
    # packed GF(2) walker, plus transitions at any rank, a walk ending 33M flips after its last
    # new lowest rank
    .venv/bin/python scripts/symmetric_walks.py runs 5 93 --ring gf2 --seeds 0 1000 \\
        --cubes 0,4 1,3 2 --packed --plus-from any --flips 1000000000 --patience 33000000 \\
        --plateau 16667 --minutes 10
    # one pooled run (bilinear.search.pool) with symmetric walks: [rank, core-seconds] history
    .venv/bin/python scripts/symmetric_walks.py pooled 4 49 --ring integer --seed 0 \\
        --walkers 4 --round-flips 2000000 --max-rounds 40

`runs` stops starting new walks after --minutes of its own CPU time; its summary counts the walks
that reached the target over the ring and the hits (exact schemes, lifted over gf2), and gives
the walks' flips per second of their own process time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bilinear.search import symmetric  # noqa: E402
from bilinear.search.pool import PoolSearch, pooled_search  # noqa: E402


def runs(args) -> dict:
    """Independent symmetric walks of seeds [first, last), each verified (lifted over gf2)."""
    clock, hits, lifts, ranks = time.process_time(), 0, Counter(), Counter()
    done = reached = flips = 0
    walk_seconds = 0.0
    cubes = None if args.cubes is None else [tuple(map(int, p.split(","))) for p in args.cubes]
    for seed in range(args.seeds[0], args.seeds[1]):
        if time.process_time() - clock > 60 * args.minutes:
            break
        found = symmetric.search(args.n, args.target, seed, args.flips, args.plateau, args.ring,
                                 args.samples, args.sample_every, lift_steps=args.lift_steps,
                                 fixed_moves=args.fixed_moves, cubes=cubes, packed=args.packed,
                                 patience=args.patience, plus_from=args.plus_from,
                                 merge=args.merge)
        rank = len(found.walk.products)
        hits += bool(found.schemes) and rank <= args.target
        reached += rank <= args.target
        flips += found.walk.flips
        walk_seconds += found.walk_seconds
        lifts.update(found.lift)
        ranks[rank] += 1
        done += 1
        print(json.dumps({"seed": seed, "rank": rank, "reached_at": found.walk.reached_at,
                          "flips": found.walk.flips, "exact": len(found.schemes),
                          "lift": dict(found.lift), "core_seconds": round(found.seconds, 2),
                          "walk_seconds": round(found.walk_seconds, 2)}),
              flush=True)
    seconds = time.process_time() - clock
    return {"format": [args.n] * 3, "target": args.target, "ring": args.ring, "walks": done,
            "flips_per_walk": args.flips, "plateau": args.plateau,
            "fixed_moves": args.fixed_moves, "cubes": args.cubes, "packed": args.packed,
            "patience": args.patience, "plus_from": args.plus_from, "merge": args.merge,
            "samples": args.samples, "reached": reached, "hits": hits,
            "flips_per_walk_second": round(flips / walk_seconds) if walk_seconds else None,
            "ranks": dict(sorted(ranks.items())), "lift": dict(lifts),
            "core_seconds": round(seconds, 1),
            "hits_per_core_minute": round(60 * hits / seconds, 4) if seconds else None}


def pooled(args) -> dict:
    """One pooled run with symmetric walks; its history of [rank, core-seconds]."""
    cfg = PoolSearch(args.ring, args.walkers, args.pool_size, args.round_flips, args.max_rounds,
                     args.plateau, samples=4, sample_every=20_000, max_coefficient=1,
                     lift_steps=args.lift_steps, collect_rounds=0, symmetric=True)

    def report(state):
        run = state[0]
        print(json.dumps({"round": run.rounds, "rank": run.rank,
                          "core_seconds": round(run.core_seconds, 1)}), flush=True)

    (run,) = pooled_search((args.n,) * 3, args.target, [args.seed], cfg, workers=1,
                           on_round=report)
    return {"format": [args.n] * 3, "target": args.target, "ring": args.ring, "seed": args.seed,
            "walkers": args.walkers, "round_flips": args.round_flips, "plateau": args.plateau,
            "rounds": run.rounds, "rank": run.rank, "core_seconds": round(run.core_seconds, 1),
            "history": [[r, round(t, 1)] for r, t in run.history], "lift": dict(run.lift),
            "schemes": len(run.schemes)}


def main() -> int:
    """Parse the command line and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("runs", "pooled"):
        p = sub.add_parser(name)
        p.add_argument("n", type=int)
        p.add_argument("target", type=int)
        p.add_argument("--ring", choices=("integer", "gf2"), default="integer")
        p.add_argument("--plateau", type=int, default=20_000)
        p.add_argument("--lift-steps", type=int, default=19)
    sub.choices["runs"].add_argument("--seeds", type=int, nargs=2, default=(0, 10))
    sub.choices["runs"].add_argument("--flips", type=int, default=5_000_000)
    sub.choices["runs"].add_argument("--minutes", type=float, default=10.0)
    sub.choices["runs"].add_argument("--fixed-moves", choices=symmetric.FIXED_MOVES,
                                     default=None, help="default: free, or none if --packed")
    sub.choices["runs"].add_argument("--cubes", nargs="+", default=None,
                                     help="fixed products from diagonal parts, e.g. 0,4 1,3 2 "
                                          "(default: the standard algorithm)")
    sub.choices["runs"].add_argument("--packed", action="store_true",
                                     help="the packed GF(2) walker (fixed products kept)")
    sub.choices["runs"].add_argument("--patience", type=int, default=0,
                                     help="packed: end a walk after this many flips without a "
                                          "new lowest rank (0: never)")
    sub.choices["runs"].add_argument("--plus-from", choices=symmetric.PLUS_FROM,
                                     default="best")
    sub.choices["runs"].add_argument("--merge", action="store_true",
                                     help="packed: merge products sharing two factors at once")
    sub.choices["runs"].add_argument("--samples", type=int, default=1,
                                     help="schemes kept (and verified) per walk at the target")
    sub.choices["runs"].add_argument("--sample-every", type=int, default=20_000)
    sub.choices["pooled"].add_argument("--seed", type=int, default=0)
    sub.choices["pooled"].add_argument("--walkers", type=int, default=4)
    sub.choices["pooled"].add_argument("--pool-size", type=int, default=32)
    sub.choices["pooled"].add_argument("--round-flips", type=int, default=2_000_000)
    sub.choices["pooled"].add_argument("--max-rounds", type=int, default=40)
    args = parser.parse_args()
    summary = runs(args) if args.command == "runs" else pooled(args)
    print(json.dumps({"summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
