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

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bilinear.algebra import bundle
from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.invariants import refined_fingerprint
from bilinear.algebra.lift import lift
from bilinear.algebra.schemes import Scheme, canonical, verify
from bilinear.intervals import wilson
from bilinear.io import atomic_write_bytes, write_json
from bilinear.params import ParamError
from bilinear.search.executor import run_tasks
from bilinear.search.flips import Product, search
from bilinear.seeds import walk_seed

BEST_KNOWN = {  # best known ranks over the integers, n <= m <= p (AlphaTensor 2022; Kauers and
    # Moosbauer 2022-2025; Moosbauer and Poole 2025 for <5,5,5> and <6,6,6>)
    (2, 2, 2): 7, (2, 2, 3): 11, (2, 2, 4): 14, (2, 3, 3): 15, (2, 3, 4): 20, (3, 3, 3): 23,
    (2, 4, 4): 26, (3, 3, 4): 29, (3, 4, 4): 38, (4, 4, 4): 49,
    (2, 2, 5): 18, (2, 3, 5): 25, (2, 4, 5): 33, (2, 5, 5): 40, (3, 3, 5): 36, (3, 4, 5): 47,
    (3, 5, 5): 58, (4, 4, 5): 61, (4, 5, 5): 76, (5, 5, 5): 93, (6, 6, 6): 153,
}
FORMAT_KEY = re.compile(r"^(\d+)x(\d+)x(\d+)$")


def best_known(fmt) -> int | None:
    """The best known integer rank of <n,m,p> (the same for every order of n, m, p), or None."""
    return BEST_KNOWN.get(tuple(sorted(fmt)))


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


def exact_scheme(fmt: tuple[int, int, int], products: list[Product], ring: str,
                 lift_steps: int, provenance: dict, counts: Counter) -> Scheme | None:
    """The exact scheme of a walk's products, or None: over "integer" if it verifies, over
    "gf2" if it lifts (bilinear.algebra.lift, `lift_steps` steps); counts gets one "attempts"
    per lift and "lifted" or the failure ("proved_unliftable", "obstructed",
    "unreconstructed")."""
    scheme = to_scheme(fmt, products, provenance)
    if ring == "integer":
        return scheme if verify(scheme) else None
    counts["attempts"] += 1
    result = lift(scheme, steps=lift_steps)
    if result.status != "lifted":
        counts["proved_unliftable" if result.proved else result.status] += 1
        return None
    counts["lifted"] += 1
    return result.scheme


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
        "format": list(fmt), "target_rank": rank, "best_known_rank": best_known(fmt),
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
LEGACY_FILE = re.compile(r"^\d+x\d+x\d+-r\d+-[0-9a-f]+$")  # a scheme file of the old layout


def read_index(folder: str | Path) -> dict[str, int | None]:
    """{fingerprint: walks} of a folder's bundle, with the walk counts of its index.json where
    that lists the entry (None: unknown, as when the index is missing or corrupt)."""
    folder = Path(folder)
    try:
        keys = bundle.read_texts(folder / bundle.FILE) if (folder / bundle.FILE).exists() else {}
    except (OSError, ValueError):
        keys = {}
    walks: dict[str, int | None] = {}
    try:
        for e in json.loads((folder / INDEX).read_text(encoding="utf-8"))["fingerprints"]:
            walks[str(e["fingerprint"])] = e["walks"] if isinstance(e["walks"], int) else None
    except (OSError, ValueError, KeyError, TypeError):
        walks = {}
    return {key: walks.get(key) for key in sorted(keys)}


class FoundWriter:
    """Keeps a folder's bundle (schemes.jsonl.gz, every entry keyed by its refined fingerprint;
    bilinear.algebra.bundle) and index.json (each fingerprint with the number of walks or runs
    that found it) up to date as results arrive, each rewritten atomically, so an interruption
    leaves every finished result written and the index matching the bundle.  The bundle already
    there is merged with, never replaced, while the search runs.  `own`: the folder is the
    stage's output, so finish() keeps only this run's schemes (and removes the one-file-per-
    scheme JSON of older layouts); otherwise entries already there are never changed and walk
    counts add up."""

    def __init__(self, folder: str | Path, own: bool):
        self.folder, self.own = Path(folder), own
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / bundle.FILE
        if self.path.exists() and not own:
            bundle.read_texts(self.path)  # a bundle that does not read is refused, not replaced
        self.before_walks = read_index(self.folder)
        self.before = bundle.read_texts(self.path) if self.before_walks else {}
        self.schemes: dict[str, str] = {}
        self.walks: dict[str, int] = {}
        self._write()

    def _write(self) -> None:
        merged = {**self.before, **{k: v for k, v in self.schemes.items() if k not in self.before}}
        walks = dict(self.before_walks)
        for key, count in self.walks.items():
            walks[key] = count if self.own else (walks.get(key) or 0) + count
        atomic_write_bytes(self.path, bundle.bundle_bytes(merged))
        write_json(self.folder / INDEX, {"fingerprints": [{"fingerprint": key,
                                                           "walks": walks.get(key)}
                                                          for key in sorted(merged)]})

    def add(self, schemes: dict[str, str], write: bool = True) -> None:
        """A finished walk's (or run's) schemes {fingerprint: JSON}: add the new ones, count
        them, and (unless `write` is False: call flush later) rewrite the bundle and index."""
        for key, text in sorted(schemes.items()):
            self.schemes.setdefault(key, text)
            self.walks[key] = self.walks.get(key, 0) + 1
        if write:
            self._write()

    def flush(self) -> None:
        """Rewrite the bundle and the index with every scheme added so far."""
        self._write()

    def finish(self, schemes: dict[str, str]) -> Path:
        """Once every result is in, given unique_schemes of all of them (the lowest seed's
        version of each, so the output does not depend on the order results finished in);
        with `own`, the bundle then holds this run's schemes only.  Returns the bundle's path."""
        self.schemes = dict(schemes)
        if self.own:
            self.before, self.before_walks = {}, {}
            for old in self.folder.glob("*.json"):  # one file per scheme, as written before
                if LEGACY_FILE.match(old.stem):
                    old.unlink()
        self._write()
        return self.path


def search_into(folder: str | Path, fmt: tuple[int, int, int], rank: int, seed: int,
                cfg: Search, seeds: int, workers: int, scheduler: str | None, label: str,
                own: bool) -> list[dict]:
    """search_target, adding each walk's schemes to folder's bundle as it finishes
    (FoundWriter); walks run in worker processes, so SIGINT or SIGTERM stops them at once and
    raises executor.Interrupted with every finished walk written and the index matching."""
    writer = FoundWriter(folder, own)
    tasks = [(fmt, rank, walk_seed(seed, fmt, k), cfg) for k in range(seeds)]
    results = run_tasks(run_task, tasks, workers, scheduler, label=label,
                        on_result=lambda i, r: writer.add(r["schemes"]), in_process=False)
    writer.finish(unique_schemes(results))
    return results


def write_found(folder: str | Path, schemes: dict[str, str], results: list[dict],
                prune: bool = True) -> Path:
    """Write schemes ({fingerprint: JSON}) to folder's bundle and index.json, each fingerprint
    with the number of results (walks or runs) that found it (an empty bundle when nothing was
    found, so the folder always exists); `prune` replaces the folder's bundle (the stage's own
    folder), otherwise the schemes are added to it.  Returns the bundle's path."""
    writer = FoundWriter(folder, own=prune)
    for result in results:
        writer.add({k: v for k, v in result["schemes"].items() if k in schemes})
    return writer.finish(schemes)
