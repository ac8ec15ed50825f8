"""Discovery: schemes of small formats at their best known ranks, found by flip-graph walks.

A target is a format and a rank.  Each seed is one task: a walk from the standard algorithm
(bilinear.search.flips.search) that, once it reaches the target rank, keeps a few schemes along
its way.  Every scheme a task returns has passed the exact verifier; tasks are pure functions of
(target, seed, search settings), so the schemes do not depend on the executor that ran them.
Schemes are deduplicated by fingerprint (bilinear.algebra.fingerprint): two files in one target's
folder are inequivalent; schemes that share a fingerprint may or may not be equivalent.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bilinear.algebra.fingerprint import fingerprint
from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.schemes import Scheme, canonical, verify
from bilinear.intervals import wilson
from bilinear.io import atomic_write_text, write_json
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
                found.setdefault(fingerprint(scheme), scheme_to_json(scheme))
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
FINGERPRINT = re.compile(r"^\d+x\d+x\d+-r\d+-[0-9a-f]+$")


def read_index(folder: str | Path) -> dict[str, int | None]:
    """{fingerprint: walks} of a folder's index.json, reconciled with the folder: entries whose
    file is gone are dropped, scheme files missing from the index (or every scheme file, when
    the index is missing or corrupt) are added with walks None (unknown)."""
    folder = Path(folder)
    walks: dict[str, int | None] = {}
    try:
        entries = json.loads((folder / INDEX).read_text(encoding="utf-8"))["fingerprints"]
        for e in entries:
            count = e["walks"]
            walks[str(e["fingerprint"])] = count if isinstance(count, int) else None
    except (OSError, ValueError, KeyError, TypeError):
        walks = {}
    present = {p.stem for p in folder.glob("*.json") if FINGERPRINT.match(p.stem)}
    return {key: walks.get(key) for key in sorted(present)}


def _write_index(folder: Path, walks: dict[str, int | None]) -> None:
    write_json(folder / INDEX, {"fingerprints": [{"fingerprint": key, "walks": walks[key]}
                                                 for key in sorted(walks)]})


class FoundWriter:
    """Writes the schemes of a target's walks into a folder as each walk finishes, keeping
    index.json equal to the folder's scheme files after every walk (merged with the index
    already there).  `own`: the folder is the stage's output, so finish() removes the schemes of
    earlier runs that this run did not find and counts this run's walks only; otherwise files
    already there are never touched and walk counts add up."""

    def __init__(self, folder: str | Path, own: bool):
        self.folder, self.own = Path(folder), own
        self.folder.mkdir(parents=True, exist_ok=True)
        self.before = read_index(self.folder)
        self.walks: dict[str, int] = {}
        self.created: set[str] = set()
        _write_index(self.folder, self.index())

    def index(self) -> dict[str, int | None]:
        """The index as it stands: earlier entries merged with this run's walk counts."""
        merged = dict(self.before)
        for key, count in self.walks.items():
            merged[key] = (merged.get(key) or 0) + count if not self.own else count
        return merged

    def add(self, result: dict) -> None:
        """Write a finished walk's new schemes, then the index."""
        for key, text in sorted(result["schemes"].items()):
            path = self.folder / f"{key}.json"
            if key not in self.before and key not in self.created or self.own:
                atomic_write_text(path, text)
                self.created.add(key)
            self.walks[key] = self.walks.get(key, 0) + 1
        _write_index(self.folder, self.index())

    def finish(self, schemes: dict[str, str]) -> list[Path]:
        """Once every walk is done, given unique_schemes of all of them: each scheme this run
        wrote holds the lowest seed's version (the output does not depend on the order walks
        finished in); with `own`, the folder's other .json files (earlier runs') are removed.
        Returns this run's scheme paths."""
        for key in sorted(self.created):
            atomic_write_text(self.folder / f"{key}.json", schemes[key])
        if self.own:  # the stage's folder: any other .json is from an earlier run
            for old in self.folder.glob("*.json"):
                if old.name != INDEX and old.stem not in schemes:
                    old.unlink()
            self.before = {}
        _write_index(self.folder, self.index())
        return [self.folder / f"{key}.json" for key in sorted(schemes)]


def search_into(folder: str | Path, fmt: tuple[int, int, int], rank: int, seed: int,
                cfg: Search, seeds: int, workers: int, scheduler: str | None, label: str,
                own: bool) -> list[dict]:
    """search_target, writing each walk's schemes into folder as it finishes (FoundWriter);
    walks run in worker processes, so SIGINT or SIGTERM stops them at once and raises
    executor.Interrupted with every finished walk written and the index matching the folder."""
    writer = FoundWriter(folder, own)
    tasks = [(fmt, rank, walk_seed(seed, fmt, k), cfg) for k in range(seeds)]
    results = run_tasks(run_task, tasks, workers, scheduler, label=label,
                        on_result=lambda i, r: writer.add(r), in_process=False)
    writer.finish(unique_schemes(results))
    return results


def write_found(folder: str | Path, schemes: dict[str, str], results: list[dict],
                prune: bool = True) -> list[Path]:
    """Write each scheme once as <folder>/<fingerprint>.json and <folder>/index.json, each
    fingerprint with the number of walks of results that found it (an empty list when nothing
    was found, so the folder always exists); `prune` removes the other scheme files of the
    folder (the stage's own folder, from earlier runs); without it, files already there are
    kept and the index is merged with the folder's (walk counts added).  Returns the scheme
    files' paths."""
    writer = FoundWriter(folder, own=prune)
    for result in sorted(results, key=lambda r: r["seed"]):
        writer.add({**result, "schemes": {k: v for k, v in result["schemes"].items()
                                          if k in schemes}})
    return writer.finish(schemes)
