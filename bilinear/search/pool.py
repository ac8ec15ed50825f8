"""Pooled flip-graph search: a pool of schemes at the current rank, walks restarted from it.

One *run* (one seed) starts with the standard algorithm as its pool, at rank n*m*p.  Each
*round* runs `walkers` walks (tasks on the executor, bilinear.search.executor) of at most
`round_flips` flips toward the target rank; walker k goes on from its own last scheme when that
is at most `restart_above` products above the run's current rank (so walkers that descend to
neighbouring ranks stay independent long walks), else starts from a pool member drawn by its
seed.  When some
walks descend, the whole pool moves down: it becomes the latest schemes of the walks that
reached the lowest rank (their samples at the target; up to `pool_size`); otherwise it is
refilled with the walks' latest schemes at the current rank (the walk moved, so the pool
spreads over the rank's flip graph), then the old members.  A run that has not reached the
target rank stops after `max_rounds` rounds; one that has goes on `collect_rounds` rounds at
the target (rounds of walks that collect more schemes), then stops.  Exact schemes at the target
are kept once per refined fingerprint; the later ones whose fingerprint is kept with another
scheme are the run's collisions, for bilinear.search.census to decide.

Ring "integer": walks keep coefficients within +-max_coefficient and every scheme is verified
exactly.  Ring "gf2": walks run over GF(2); a walk counts as descended only with schemes that
lift to exact ones (bilinear.algebra.lift), so the pool never moves to a rank known only mod 2;
every lift attempt and failure is counted.  With `symmetric`, walks on square formats run in
the Z3-symmetric flip graph (bilinear.search.symmetric), so every pool member is symmetric;
verification and lifting are the same.  With `packed` (a PackedSearch), a square target runs
Moosbauer and Poole's search instead: every walk is an independent packed GF(2) symmetric walk
from the cube start (bilinear.search.symmetric.cube_start; its fixed products kept), ending
after `patience` flips without a new lowest rank, at `flips` or at its first scheme at the
target (as theirs); only that scheme is lifted, so the run's rank (and the time-to-rank table)
moves from the start straight to the target once one lifts, and `gf2_rank` records the lowest
rank the walks reached over GF(2), not lifted.  Walks are pure functions of (start, seed,
settings), and rounds are combined in task order, so a seed gives the same schemes on local
processes or a Dask cluster.  Time is counted in core-seconds (process time of the tasks); a
rank's time is the run's total up to the end of the round that first reached it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.invariants import refined_fingerprint
from bilinear.algebra.schemes import canonical
from bilinear.intervals import wilson
from bilinear.search import census, symmetric
from bilinear.search.discover import exact_scheme
from bilinear.search.executor import Interrupted, Interruptible, run_tasks
from bilinear.search.flips import Product, standard, walk
from bilinear.seeds import pool_walk_seed

LIFT_KEYS = ("attempts", "lifted", "obstructed", "proved_unliftable", "unreconstructed")


@dataclass(frozen=True)
class PackedSearch:
    """Moosbauer and Poole's search for one square target (the module): the diagonal parts of
    the cube start, and each walk's flip cap, patience and plateau."""

    cubes: tuple[tuple[int, ...], ...]
    flips: int
    patience: int
    plateau: int


@dataclass(frozen=True)
class PoolSearch:
    """Settings of a pooled search (see the module docstring and flips.search)."""

    ring: str
    walkers: int
    pool_size: int
    round_flips: int
    max_rounds: int
    plateau: int
    samples: int
    sample_every: int
    max_coefficient: int
    lift_steps: int
    collect_rounds: int = 0
    symmetric: bool = False   # square formats walk in the Z3-symmetric flip graph (symmetric.py)
    restart_above: int = 0    # a walker further above the run's rank restarts from the pool
    packed: PackedSearch | None = None   # independent packed GF(2) walks from a cube start


@dataclass
class Run:
    """The state of one pooled run."""

    seed: int
    rank: int
    pool: list[list[Product]]
    core_seconds: float = 0.0
    flips: int = 0
    rounds: int = 0
    history: list[list] = field(default_factory=list)    # [rank, core-seconds] at each first
    schemes: dict[str, str] = field(default_factory=dict)  # exact schemes at the target rank
    collisions: list[tuple[str, str]] = field(default_factory=list)  # same fingerprint, other
    lift: Counter = field(default_factory=Counter)
    collected: int = 0      # rounds run at the target rank, collecting schemes
    lasts: list[list[Product]] = field(default_factory=list)  # each walker's last scheme
    gf2_rank: int | None = None   # packed: the lowest rank any walk reached over GF(2)


def symmetric_walks(fmt: tuple[int, int, int], cfg: PoolSearch) -> bool:
    """True when the walks of this format run in the Z3-symmetric flip graph: cfg.symmetric and
    a square format (the standard algorithm, every pool's first member, is symmetric)."""
    return (cfg.symmetric or cfg.packed is not None) and fmt[0] == fmt[1] == fmt[2]


def start_scheme(fmt: tuple[int, int, int], cfg: PoolSearch) -> list[Product]:
    """Every run's first pool member: the standard algorithm, or with cfg.packed the cube
    start of its diagonal parts."""
    if cfg.packed is None:
        return standard(fmt)
    if not fmt[0] == fmt[1] == fmt[2]:
        raise ValueError(f"packed search: only square formats have cube starts, got {fmt}")
    return symmetric.cube_start(fmt[0], cfg.packed.cubes)


def ring(cfg: PoolSearch) -> str:
    """The ring the walks run over: gf2 for packed walks, else cfg.ring."""
    return "gf2" if cfg.packed is not None else cfg.ring


def _walk(fmt: tuple[int, int, int], start: list[Product], target: int, seed: int,
          cfg: PoolSearch):
    """One walk of a round in the graph cfg names (the module)."""
    if cfg.packed is not None:
        p = cfg.packed
        return symmetric.walk(start, target, seed, p.flips, p.plateau, 1, 1, 1, "gf2",
                              packed=True, patience=p.patience, plus_from="any")
    return (symmetric.walk if symmetric_walks(fmt, cfg) else walk)(
        start, target, seed, cfg.round_flips, cfg.plateau, cfg.samples, cfg.sample_every,
        cfg.max_coefficient, cfg.ring)


def pool_task(task: tuple) -> dict:
    """One walk of a round: (fmt, start products, pool rank, target, seed, PoolSearch) ->
    best_rank (exact), the products for the next pool, exact schemes at best_rank if it is at
    most the target (canonical JSON by fingerprint, and the later samples whose fingerprint
    came earlier with another scheme: collisions), flips, lift counts and core-seconds.
    The walk aims at the target itself, so one round may descend several ranks."""
    fmt, start, rank, target, seed, cfg = task
    clock = time.process_time()
    w = _walk(fmt, start, target, seed, cfg)
    method = ("packed symmetric" if cfg.packed is not None
              else "symmetric pooled" if symmetric_walks(fmt, cfg) else "pooled")
    counts: Counter = Counter()
    best, pool, schemes, collisions = rank, [w.last] if len(w.last) == rank else [], {}, []
    at_target = len(w.products) <= target
    if (len(w.products) < rank or rank <= target) and (cfg.packed is None or at_target):
        pool = []
        for k, products in enumerate(w.samples if at_target and w.samples else [w.last]):
            provenance = {"method": f"{method} flip-graph walk ({ring(cfg)})", "walk_seed": seed,
                          "sample": k, "max_coefficient": cfg.max_coefficient}
            if cfg.packed is not None:
                provenance.update(cubes=[list(part) for part in cfg.packed.cubes],
                                  flips=cfg.packed.flips, patience=cfg.packed.patience,
                                  plateau=cfg.packed.plateau)
            scheme = exact_scheme(fmt, products, ring(cfg), cfg.lift_steps, provenance, counts)
            if scheme is None:
                continue
            best = len(products)
            pool.append(products)
            if at_target:
                scheme = canonical(scheme)
                key, text = refined_fingerprint(scheme), scheme_to_json(scheme)
                if census.new_collision(schemes, key, text):
                    collisions.append((key, text))
    return {"seed": seed, "best_rank": best, "walk_rank": len(w.products), "pool": pool,
            "last": w.last, "flips": w.flips,
            "schemes": schemes, "collisions": collisions, "lift": dict(counts),
            "seconds": time.process_time() - clock}


def _dedupe(pools: list[list[Product]], size: int) -> list[list[Product]]:
    out, seen = [], set()
    for products in pools:
        key = tuple(sorted(products))
        if key not in seen:
            seen.add(key)
            out.append(products)
    return out[:size]


def advance(run: Run, results: list[dict], target: int, cfg: PoolSearch) -> None:
    """Fold one round's results (in task order) into the run."""
    run.rounds += 1
    run.core_seconds += sum(r["seconds"] for r in results)
    run.flips += sum(r["flips"] for r in results)
    for r in results:
        run.lift.update(r["lift"])
    best = min(r["best_rank"] for r in results)
    if cfg.packed is not None:
        low = min(r["walk_rank"] for r in results)
        run.gf2_rank = low if run.gf2_rank is None else min(run.gf2_rank, low)
    if run.rank <= target:
        run.collected += 1
    if best < run.rank:
        down = [r for r in results if r["best_rank"] == best]
        run.pool = _dedupe([p for r in down for p in r["pool"]], cfg.pool_size)
        run.rank = best
        run.history.append([best, run.core_seconds])
    else:
        run.pool = _dedupe([p for r in results for p in r["pool"]] + run.pool, cfg.pool_size)
    run.lasts = [r["last"] for r in results]
    if run.rank <= target:
        for r in results:
            if r["best_rank"] == run.rank:
                for key, text in sorted(r["schemes"].items()) + r["collisions"]:
                    if census.new_collision(run.schemes, key, text):
                        run.collisions.append((key, text))


def _start(run: Run, k: int, seed: int, cfg: PoolSearch, first: list[Product]
           ) -> list[Product]:
    """Walker k's start: with cfg.packed the run's first scheme (independent walks); else its
    own last scheme when that is at most cfg.restart_above products above the run's rank (the
    walk goes on), else a pool member drawn by the walk's seed."""
    if cfg.packed is not None:
        return first
    if run.lasts and len(run.lasts[k]) <= run.rank + cfg.restart_above:
        return run.lasts[k]
    return run.pool[seed % len(run.pool)]


def pooled_search(fmt: tuple[int, int, int], target: int, run_seeds: list[int],
                  cfg: PoolSearch, workers: int = 2, scheduler: str | None = None,
                  label: str = "pool", on_round: Callable[[list[Run]], None] | None = None
                  ) -> list[Run]:
    """One pooled run per seed (all runs' walks of a round submitted together); on_round(runs)
    after each round.  Walks run in worker processes, so SIGINT or SIGTERM stops them at once
    (executor.Interrupted; the rounds before it were passed to on_round)."""
    first = start_scheme(fmt, cfg)
    top = len(first)
    runs = [Run(seed, top, [first], history=[[top, 0.0]]) for seed in run_seeds]
    stop = Interruptible()
    with stop.active():
        round_ = 0
        while True:
            active = [run for run in runs if (run.rank > target and run.rounds < cfg.max_rounds)
                      or (run.rank <= target and run.collected < cfg.collect_rounds)]
            if not active:
                break
            tasks = []
            for run in active:
                for k in range(cfg.walkers):
                    seed = pool_walk_seed(run.seed, round_, k)
                    tasks.append((fmt, _start(run, k, seed, cfg, first), run.rank, target,
                                  seed, cfg))
            stop.total += len(tasks)
            try:
                results = run_tasks(pool_task, tasks, workers, scheduler,
                                    label=f"{label} round {round_}", progress=False,
                                    in_process=False)
            except Interrupted as exc:  # counted over the whole search
                raise Interrupted(exc.signum, stop.done + exc.done, stop.total) from None
            stop.done += len(tasks)
            with stop.deliver():
                for i, run in enumerate(active):
                    advance(run, results[i * cfg.walkers:(i + 1) * cfg.walkers], target, cfg)
                if on_round is not None:
                    on_round(runs)
            round_ += 1
    return runs


def _median(values: list) -> float | None:
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return float(values[mid]) if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def time_to_rank(runs: list[Run], top: int, every_rank: bool = True) -> list[dict]:
    """Per rank from top - 1 down to the lowest reached (every_rank False: only the ranks some
    run's history holds): the core-seconds at which each run first reached it (or a lower rank;
    None if never), how many did, and their median."""
    low = min((run.rank for run in runs), default=top)
    held = {r for run in runs for r, _ in run.history}
    rows = []
    for rank in range(top - 1, low - 1, -1):
        if not every_rank and rank not in held:
            continue
        times = [next((t for r, t in run.history if r <= rank), None) for run in runs]
        reached = [t for t in times if t is not None]
        rows.append({"rank": rank, "reached": len(reached), "runs": len(runs),
                     "median_core_seconds": _median(reached), "core_seconds": times})
    return rows


def collisions(runs: list[Run], found: dict[str, str]) -> list[tuple[str, str]]:
    """Every run's collisions, then the runs' kept schemes that the merge over runs (found,
    discover.unique_schemes) did not keep: all in seed order."""
    out = []
    for run in sorted(runs, key=lambda r: r.seed):
        out += run.collisions
        out += [(key, text) for key, text in sorted(run.schemes.items())
                if found.get(key) != text]
    return out


def summarize_runs(fmt: tuple[int, int, int], target: int, runs: list[Run], cfg: PoolSearch,
                   best_known: int | None, classes: int | None = None,
                   checks: dict | None = None, alpha: float = 0.05) -> dict:
    """Metrics of one target's pooled runs: best rank, runs reaching the target (Wilson
    yield), core-seconds, distinct fingerprints and certified classes (with the equivalence
    checks that made the classes beyond them, bilinear.search.census), the time-to-rank table,
    lift counts, and each run's seed, rank, rounds, flips and [rank, core-seconds] history."""
    exact = sum(run.rank <= target for run in runs)
    seconds = sum(run.core_seconds for run in runs)
    prints = {key for run in runs for key in run.schemes}
    lifts = Counter()
    for run in runs:
        lifts.update(run.lift)
    table = time_to_rank(runs, runs[0].history[0][0] if runs else fmt[0] * fmt[1] * fmt[2],
                         every_rank=cfg.packed is None)
    at_target = [row for row in table if row["rank"] == target]
    return {
        "format": list(fmt), "target_rank": target, "best_known_rank": best_known,
        "best_rank": min((run.rank for run in runs), default=None), "ring": ring(cfg),
        "symmetric": symmetric_walks(fmt, cfg),
        "packed": None if cfg.packed is None else {
            "cubes": [list(part) for part in cfg.packed.cubes], "flips": cfg.packed.flips,
            "patience": cfg.packed.patience, "plateau": cfg.packed.plateau,
            "start_rank": runs[0].history[0][0] if runs else None,
            "best_gf2_rank": min((r.gf2_rank for r in runs if r.gf2_rank is not None),
                                 default=None)},
        "tried": len(runs), "exact": exact, "yield": wilson(exact, len(runs), alpha),
        "search_seconds": seconds, "seconds_per_exact_scheme": seconds / exact if exact else None,
        "median_core_seconds_to_target": at_target[0]["median_core_seconds"] if at_target else None,
        "distinct_fingerprints": len(prints),
        "fingerprints_per_hour": len(prints) / seconds * 3600 if seconds else None,
        "certified_classes": len(prints) if classes is None else classes,
        "classes_per_core_hour": ((len(prints) if classes is None else classes) * 3600
                                  / (seconds + (checks or {}).get("core_seconds", 0))
                                  if seconds else None),
        "equivalence_checks": checks,
        "time_to_rank": table, "lift": {key: lifts.get(key, 0) for key in LIFT_KEYS},
        "runs": [{"seed": run.seed, "best_rank": run.rank, "gf2_rank": run.gf2_rank,
                  "rounds": run.rounds,
                  "flips": run.flips, "core_seconds": run.core_seconds, "history": run.history}
                 for run in runs],
    }
