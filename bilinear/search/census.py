"""Certified classes beyond the refined fingerprint: collisions decided by the explicit
equivalence search.

Discovery keeps one scheme per refined fingerprint (bilinear.algebra.invariants), a certified
invariant: two kept schemes are inequivalent.  A *collision* is a later exact scheme whose
fingerprint equals a kept one's while its canonical coefficients differ; it may or may not be
equivalent to it.  The first `limit` collisions (in the deterministic order the runs, rounds and
walks produced them) go to bilinear.algebra.equivalence_search, as tasks on the executor: a
collision certified inequivalent to every kept scheme of its fingerprint becomes a class of its
own, keyed '<fingerprint>-<k>' (k = 2, 3, ...); equivalent and undecided ones are counted and
dropped.  So every entry of a bundle stays certified pairwise inequivalent to every other.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from bilinear.algebra.equivalence_search import search_equivalence
from bilinear.algebra.formats.project_json import scheme_from_dict
from bilinear.search.executor import run_tasks

MAX_NODES = 20_000  # product matches per comparison before it counts as undecided


def coefficients(text: str) -> str:
    """The coefficients (U, V, W) of a scheme's canonical JSON, without its provenance."""
    doc = json.loads(text)
    return json.dumps([doc["U"], doc["V"], doc["W"]])


def new_collision(kept: dict[str, str], key: str, text: str) -> bool:
    """Keep text under key if none is kept there; True when another scheme (other coefficients)
    is kept under it: a collision."""
    if key not in kept:
        kept[key] = text
        return False
    return kept[key] != text and coefficients(kept[key]) != coefficients(text)


def compare_task(task: tuple[str, str]) -> tuple[str, float]:
    """(scheme JSON, scheme JSON) -> (status of the search, core-seconds)."""
    clock = time.process_time()
    a, b = (scheme_from_dict(json.loads(text)) for text in task)
    status = search_equivalence(a, b, MAX_NODES).status
    return status, time.process_time() - clock


def resolve(found: dict[str, str], collisions: list[tuple[str, str]], limit: int,
            workers: int = 2, scheduler: str | None = None, label: str = "census"
            ) -> tuple[dict[str, str], dict]:
    """(new classes {key: JSON}, counts) from the first `limit` distinct collisions (fingerprint,
    JSON) against found {fingerprint: JSON}: each is compared with the kept scheme of its
    fingerprint (in parallel), then those certified inequivalent with the classes already made
    of the same fingerprint (in order)."""
    seen, queue = {coefficients(text) for text in found.values()}, []
    for key, text in collisions:
        content = coefficients(text)
        if key in found and content not in seen:
            seen.add(content)
            queue.append((key, text))
    checked = queue[:limit]
    counts = Counter({"collisions": len(queue), "checked": len(checked), "equivalent": 0,
                      "inequivalent": 0, "undecided": 0})
    results = run_tasks(compare_task, [(text, found[key]) for key, text in checked], workers,
                        scheduler, label=label, progress=False, in_process=False)
    seconds = sum(s for _, s in results)
    extra: dict[str, str] = {}
    for (key, text), (status, _) in zip(checked, results, strict=True):
        others = [k for k in extra if k.rsplit("-", 1)[0] == key]
        for other in others:
            if status != "inequivalent":
                break
            status, s = compare_task((text, extra[other]))
            seconds += s
        counts[status] += 1
        if status == "inequivalent":
            extra[f"{key}-{len(others) + 2}"] = text
    return extra, {**counts, "core_seconds": seconds}
