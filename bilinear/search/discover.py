"""Discovery: schemes of small formats at their best known ranks, found by flip-graph walks.

A target is a format and a rank.  Each seed is one task: a walk from the standard algorithm
(bilinear.search.flips.search) that, once it reaches the target rank, keeps a few schemes along
its way.  Every scheme a task returns has passed the exact verifier; tasks are pure functions of
(target, seed, search settings), so the schemes do not depend on the executor that ran them.
Schemes are deduplicated by their refined fingerprint (bilinear.algebra.invariants, a certified
invariant): two entries of one target's bundle are inequivalent; schemes that share it may or may
not be equivalent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bilinear.algebra import bundle
from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.invariants import refined_fingerprint
from bilinear.algebra.schemes import Scheme, canonical, verify
from bilinear.intervals import wilson
from bilinear.io import atomic_write_bytes, write_json
from bilinear.params import ParamError
from bilinear.search.executor import run_tasks
from bilinear.search.flips import Product, search
from bilinear.seeds import walk_seed

BEST_KNOWN = {  # best known ranks over the integers (AlphaTensor 2022; Kauers and Moosbauer)
    (2, 2, 2): 7, (2, 2, 3): 11, (2, 2, 4): 14, (2, 3, 3): 15, (2, 3, 4): 20, (3, 3, 3): 23,
    (2, 4, 4): 26, (3, 3, 4): 29, (3, 4, 4): 38, (4, 4, 4): 49,
}
FORMAT_KEY = re.compile(r"^(\d+)x(\d+)x(\d+)$")


@dataclass(frozen=True)
class Search:
    """Settings of one walk (see flips.search)."""

    max_flips: int
    plateau: int
    samples: int
    sample_every: int
    max_coefficient: int


def parse_format(key: str) -> tuple[int, int, int]:
    """'3x3x4' -> (3, 3, 4); a ParamError for anything else or a zero dimension."""
    match = FORMAT_KEY.match(str(key))
    if not match:
        raise ParamError(f"discover.targets.{key}: keys are formats <n>x<m>x<p>, e.g. 3x3x3")
    fmt = tuple(int(g) for g in match.groups())
    if min(fmt) < 1:
        raise ParamError(f"discover.targets.{key}: every dimension must be >= 1")
    return fmt


def check_rank(key: str, rank) -> int:
    """The target rank, a positive integer below the standard algorithm's n*m*p."""
    n, m, p = parse_format(key)
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= n * m * p:
        raise ParamError(f"discover.targets.{key}: expected a rank in [1, {n * m * p}], "
                         f"got {rank!r}")
    return rank


def to_scheme(fmt: tuple[int, int, int], products: list[Product], provenance: dict) -> Scheme:
    """The products of a walk as a Scheme (U rows, V rows, W columns)."""
    U = np.array([x for x, _, _ in products], dtype=int)
    V = np.array([y for _, y, _ in products], dtype=int)
    W = np.array([z for _, _, z in products], dtype=int).T
    return Scheme(fmt, U, V, W, provenance)


def run_task(task: tuple) -> dict:
    """One seed of one target: (fmt, rank, seed, Search) -> what it found, schemes as JSON text.

    Keys: seed, best_rank, flips, plus, reached_at, seconds, schemes (canonical JSON of each exact
    scheme at the best rank reached if it is <= the target rank, deduplicated by fingerprint)."""
    fmt, rank, seed, cfg = task
    start = time.perf_counter()
    walk = search(fmt, rank, seed, cfg.max_flips, cfg.plateau, cfg.samples, cfg.sample_every,
                  cfg.max_coefficient)
    found = {}
    if len(walk.products) <= rank:
        for k, products in enumerate(walk.samples or [walk.products]):
            provenance = {"method": "flip-graph walk from the standard algorithm",
                          "seed": seed, "sample": k, "max_coefficient": cfg.max_coefficient,
                          "walk_flips": walk.flips, "reached_at_flip": walk.reached_at}
            scheme = canonical(to_scheme(fmt, products, provenance))
            if verify(scheme):
                found.setdefault(refined_fingerprint(scheme), scheme_to_json(scheme))
    return {"seed": seed, "best_rank": len(walk.products), "flips": walk.flips,
            "plus": walk.plus, "reached_at": walk.reached_at,
            "seconds": time.perf_counter() - start, "schemes": found}


def search_target(fmt: tuple[int, int, int], rank: int, seed: int, cfg: Search, seeds: int,
                  workers: int, scheduler: str | None, label: str) -> list[dict]:
    """run_task for walks 0..seeds-1 of one target, on local processes or the Dask cluster."""
    tasks = [(fmt, rank, walk_seed(seed, fmt, k), cfg) for k in range(seeds)]
    return run_tasks(run_task, tasks, workers, scheduler, label=label)


def summarize(fmt: tuple[int, int, int], rank: int, results: list[dict],
              alpha: float = 0.05) -> dict:
    """Metrics of one target: best rank, tried, exact, Wilson yield, seconds per exact scheme,
    distinct fingerprints (and their rate per hour of search time)."""
    exact = sum(bool(r["schemes"]) for r in results)
    seconds = sum(r["seconds"] for r in results)
    prints = sorted({f for r in results for f in r["schemes"]})
    return {
        "format": list(fmt), "target_rank": rank, "best_known_rank": BEST_KNOWN.get(tuple(fmt)),
        "best_rank": min((r["best_rank"] for r in results), default=None),
        "tried": len(results), "exact": exact, "yield": wilson(exact, len(results), alpha),
        "search_seconds": seconds,
        "seconds_per_exact_scheme": seconds / exact if exact else None,
        "distinct_fingerprints": len(prints),
        "fingerprints_per_hour": len(prints) / seconds * 3600 if seconds else None,
        "median_flips_to_target": _median([r["reached_at"] for r in results
                                           if r["reached_at"] is not None]),
    }


def _median(values: list) -> float | None:
    return float(np.median(values)) if values else None


def unique_schemes(results: list[dict]) -> dict[str, str]:
    """{fingerprint: scheme JSON} over all tasks, the first seed's scheme kept for each."""
    out: dict[str, str] = {}
    for result in sorted(results, key=lambda r: r["seed"]):
        for key, text in sorted(result["schemes"].items()):
            out.setdefault(key, text)
    return out


INDEX = "index.json"


def write_found(folder: str | Path, schemes: dict[str, str], results: list[dict],
                prune: bool = True) -> Path:
    """Write the schemes to <folder>/schemes.jsonl.gz (one compressed bundle, every entry keyed
    by its fingerprint; bilinear.algebra.formats.bundle) and <folder>/index.json, each
    fingerprint with the number of results (walks or runs) that found it (an empty list when
    nothing was found, so the folder always exists).  `prune` replaces the folder's bundle (the
    stage's own folder); otherwise the schemes are added to the bundle already there (nothing is
    deleted).  Returns the bundle's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / bundle.FILE
    for old in folder.glob("*.json") if prune else ():   # one file per scheme, as written before
        if old.name != INDEX:
            old.unlink()
    kept = {} if prune or not path.exists() else bundle.read_texts(path)
    merged = {**kept, **{k: v for k, v in schemes.items() if k not in kept}}
    atomic_write_bytes(path, bundle.bundle_bytes(merged))
    walks = {key: sum(key in r["schemes"] for r in results) for key in merged}
    write_json(folder / INDEX, {"fingerprints": [{"fingerprint": key, "walks": walks[key]}
                                                 for key in sorted(merged)]})
    return path
