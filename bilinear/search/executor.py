"""One interface for running many independent tasks: local processes or a Dask cluster.

`run_tasks(fn, tasks, ...)` calls the pure function `fn(task)` for every task and returns the
results in the order of `tasks`, whatever order they finish in.  With no scheduler address the
tasks run in local worker processes; with `tcp://HOST:PORT` (or the environment variable
BILINEAR_SCHEDULER) they run on that Dask distributed cluster, where a worker that dies mid-task
has its task rerun elsewhere by the scheduler (each task is submitted once under a key of its own,
so a result is neither lost nor counted twice).  Tasks must be pure functions of their
arguments, so the results do not depend on the executor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from tqdm import tqdm

ENV = "BILINEAR_SCHEDULER"


def scheduler_address(param: str | None) -> str | None:
    """The scheduler to use: the param if set, else the environment variable, else None."""
    return param or os.environ.get(ENV) or None


def run_tasks(fn: Callable, tasks: Sequence, workers: int = 2, scheduler: str | None = None,
              label: str = "tasks", progress: bool = True) -> list:
    """[fn(t) for t in tasks], run on local processes or on the Dask cluster at `scheduler`."""
    if not tasks:
        return []
    bar = tqdm(total=len(tasks), desc=label, disable=not progress, leave=False)
    try:
        if scheduler:
            return _dask(fn, tasks, scheduler, bar)
        if workers <= 1:
            out = []
            for task in tasks:
                out.append(fn(task))
                bar.update()
            return out
        return _local(fn, tasks, workers, bar)
    finally:
        bar.close()


def _local(fn, tasks, workers, bar) -> list:
    results = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.update()
    return results


def _dask(fn, tasks, address, bar) -> list:
    from dask.base import tokenize
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(address, timeout="30s") as client:
        futures = [client.submit(fn, task, key=f"{fn.__name__}-{i}-{tokenize(task)}",
                                 pure=False, retries=3)
                   for i, task in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        results = [None] * len(tasks)
        for future in dask_completed(futures):
            results[index[future.key]] = future.result()
            bar.update()
    return results
