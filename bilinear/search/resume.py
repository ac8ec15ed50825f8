"""Resumable task runs: each finished task's result is kept in a partial-results file as it
arrives, so a run stopped by SIGINT or SIGTERM (executor.Interrupted) loses no finished task, and
a rerun under the same key runs only the missing ones.

The file is JSON lines: a header ``{"key": ...}`` (everything the results depend on, as the
caller says), then one line ``{"i": task index, "id": task identity, "result": ...}`` per finished
task, appended and flushed when the task finishes (a signal never cuts the append short: it runs
in run_tasks' on_result).  Loading trusts nothing: a line that is not JSON (a truncated last
line), names no task of this run, has another identity or fails the caller's check of a result
is dropped with one line on stderr, and its task runs again; a header of another key makes the
whole file be started afresh.  Results do not depend on where they ran, so a resumed run gives
what an uninterrupted one gives.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bilinear.io import atomic_write_text
from bilinear.search.executor import Interrupted, run_tasks


def _plain(x):
    """json.dumps' fallback: numpy scalars as Python numbers and booleans."""
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"{type(x).__name__} is not JSON serializable")


def _line(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=_plain) + "\n"


class Partial:
    """The partial-results file of one keyed run (key: a JSON-able dict); `kept` counts the
    finished results it holds, `total` the run's tasks (both known once loaded)."""

    def __init__(self, path: str | Path, key: dict):
        self.path = Path(path)
        self.key = json.loads(_line(key))  # as it reads back from the file
        self.kept, self.total = 0, 0

    def load(self, ids: Sequence, check: Callable) -> dict[int, object]:
        """{task index: checked result} of the valid lines for tasks with identities `ids`
        (`check(result)` returns the result or raises ValueError, TypeError or KeyError); the
        file is then rewritten atomically with only those lines (created if missing)."""
        ids = json.loads(json.dumps(list(ids), default=_plain))
        self.total = len(ids)
        lines = self._read()
        done, bad = {}, []
        if lines and _header(lines[0]) != self.key:
            print(f"warning: {self.path}: written for another key or damaged, started afresh",
                  file=sys.stderr)
            lines = []
        for number, text in enumerate(lines[1:], start=2):
            try:
                entry = json.loads(text)
                i = entry["i"]
                if type(i) is not int or not 0 <= i < len(ids) or entry["id"] != ids[i]:
                    raise ValueError("names no task of this run")
                done.setdefault(i, check(entry["result"]))
            except (ValueError, TypeError, KeyError) as exc:
                bad.append(f"line {number}: {type(exc).__name__}: {str(exc)[:80]}")
        if bad:
            print(f"warning: {self.path}: ignored {len(bad)} unreadable line(s) ({bad[0]}); "
                  "their tasks run again", file=sys.stderr)
        atomic_write_text(self.path, _line({"key": self.key}) + "".join(
            _line({"i": i, "id": ids[i], "result": r}) for i, r in sorted(done.items())))
        self.kept = len(done)
        return done

    def _read(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            print(f"warning: {self.path}: unreadable ({type(exc).__name__}), started afresh",
                  file=sys.stderr)
            return []

    def add(self, i: int, task_id, result) -> None:
        """Append one finished task's result and flush it to the operating system."""
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(_line({"i": i, "id": task_id, "result": result}))
        self.kept += 1

    def remove(self) -> None:
        """Delete the file (the run is complete and its results written elsewhere)."""
        self.path.unlink(missing_ok=True)


def _header(text: str):
    try:
        return json.loads(text).get("key")
    except (ValueError, AttributeError):
        return None


def run_resumable(fn: Callable, tasks: Sequence, ids: Sequence, partial: Partial,
                  check: Callable, **options) -> list:
    """run_tasks(fn, tasks, **options), keeping each finished result in `partial` and running
    only the tasks it does not hold yet (`ids`: a JSON-able identity per task, `check`: see
    Partial.load).  Raises executor.Interrupted like run_tasks, with every finished result kept
    and counted (those of earlier runs included)."""
    done = partial.load(ids, check)
    missing = [i for i in range(len(tasks)) if i not in done]
    if done:
        print(f"{options.get('label', 'tasks')}: resuming, {len(done)} of {len(tasks)} tasks "
              f"finished before ({partial.path})", file=sys.stderr)

    def keep(j: int, result) -> None:
        partial.add(missing[j], ids[missing[j]], result)

    try:
        fresh = run_tasks(fn, [tasks[i] for i in missing], on_result=keep, **options)
    except Interrupted as exc:
        raise Interrupted(exc.signum, partial.kept, len(tasks)) from None
    done.update(zip(missing, fresh, strict=True))
    return [done[i] for i in range(len(tasks))]
