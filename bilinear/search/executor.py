"""One interface for running many independent tasks: local processes or a Dask cluster.

`run_tasks(fn, tasks, ...)` calls the pure function `fn(task)` for every task and returns the
results in the order of `tasks`, whatever order they finish in; `on_result(i, result)`, if
given, is called in the main process as each task finishes.  With no scheduler address the
tasks run in local worker processes; with `tcp://HOST:PORT` (or the environment variable
BILINEAR_SCHEDULER) they run on that Dask distributed cluster, where a worker that dies mid-task
has its task rerun elsewhere by the scheduler (each task is submitted once under a key of its own,
so a result is neither lost nor counted twice).  Tasks must be pure functions of their
arguments, so the results do not depend on the executor.

SIGINT or SIGTERM while tasks run stops them: local workers are terminated at once (a task in C
code included), Dask tasks are cancelled (the workers running them are ended, and restarted
by their nannies), and run_tasks raises Interrupted once every result
that had finished has been handed to on_result (which a signal never cuts short).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager

from tqdm import tqdm

ENV = "BILINEAR_SCHEDULER"
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped run_tasks; `done` of `total` tasks had finished.  exit_code is
    the shell's convention, 128 + the signal number."""

    def __init__(self, signum: int, done: int, total: int):
        self.signum, self.done, self.total = signum, done, total
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name} after {done} of {total} "
                         "tasks finished")


class _Signal(BaseException):
    """Raised in the main thread by the handler (a BaseException: no `except Exception` in
    task-handling code swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _Guard:
    """The signal handlers of one run_tasks call: the first signal raises _Signal in the main
    thread (held back while a result is being delivered), later ones are only recorded."""

    def __init__(self) -> None:
        self.pending: int | None = None
        self.raised = False
        self.critical = False

    def handle(self, signum, frame) -> None:
        """The handler: raise at once unless delivering or already raised."""
        if self.pending is None:
            self.pending = signum
        if not self.critical and not self.raised:
            self.raised = True
            raise _Signal(signum)

    @contextmanager
    def deliver(self):
        """Hold signals back while a finished result is handed over (or workers are forked),
        then raise if one came."""
        self.critical = True
        try:
            yield
        finally:
            self.critical = False
        if self.pending is not None and not self.raised:
            self.raised = True
            raise _Signal(self.pending)


@contextmanager
def _handlers(guard: _Guard):
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return
    old = {s: signal.signal(s, guard.handle) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


class Interruptible:
    """For a loop of run_tasks calls: inside `with x.active()`, SIGINT or SIGTERM between the
    calls raises Interrupted as well (with the caller's counts `done` of `total`), and
    `with x.deliver()` holds signals back while results are handed over."""

    def __init__(self) -> None:
        self.guard, self.done, self.total = _Guard(), 0, 0

    @contextmanager
    def active(self):
        """Signal handlers for the block; a signal between run_tasks calls -> Interrupted."""
        try:
            with _handlers(self.guard):
                yield self
        except _Signal as sig:
            raise Interrupted(sig.signum, self.done, self.total) from None

    def deliver(self):
        """A block that a signal never cuts short (it is raised at the block's end)."""
        return self.guard.deliver()


def scheduler_address(param: str | None) -> str | None:
    """The scheduler to use: the param if set, else the environment variable, else None."""
    return param or os.environ.get(ENV) or None


def run_tasks(fn: Callable, tasks: Sequence, workers: int = 2, scheduler: str | None = None,
              label: str = "tasks", progress: bool = True,
              on_result: Callable[[int, object], None] | None = None,
              in_process: bool = True) -> list:
    """[fn(t) for t in tasks], run on local processes or on the Dask cluster at `scheduler`;
    one worker runs the tasks in this process unless `in_process` is False (a signal then stops
    a long task in C code at once).  Raises Interrupted on SIGINT or SIGTERM."""
    if not tasks:
        return []
    guard, done = _Guard(), [0]
    bar = tqdm(total=len(tasks), desc=label, disable=not progress, leave=False)

    def finished(i: int, result) -> None:
        with guard.deliver():
            if on_result is not None:
                on_result(i, result)
            done[0] += 1
            bar.update()

    try:
        with _handlers(guard):
            if scheduler:
                return _dask(fn, tasks, scheduler, finished)
            if workers <= 1 and in_process:
                return [_serial(fn, t, i, finished) for i, t in enumerate(tasks)]
            return _local(fn, tasks, max(workers, 1), finished, guard)
    except _Signal as sig:
        raise Interrupted(sig.signum, done[0], len(tasks)) from None
    finally:
        bar.close()


def _serial(fn, task, i, finished):
    result = fn(task)
    finished(i, result)
    return result


def _worker_init() -> None:
    """Local workers leave SIGINT to the main process (a terminal's Ctrl-C reaches the whole
    process group) and die at once on SIGTERM, which the main process sends to stop them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _local(fn, tasks, workers, finished, guard: _Guard) -> list:
    results = [None] * len(tasks)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
    try:  # the shutdown too: a signal during it must still end the workers
        with guard.deliver():  # the workers are forked here: a signal raised inside fork's
            # handlers would leave a lock held (logging's) and hang the process at exit
            futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            finished(futures[future], results[futures[future]])
        pool.shutdown()
    except BaseException:
        _stop(pool)
        raise
    return results


def _stop(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's workers (running tasks included) and drop the queued tasks."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(1.0)
        if process.is_alive():
            process.kill()


def _dask(fn, tasks, address, finished) -> list:
    from dask.base import tokenize
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(address, timeout="30s") as client:
        futures = [client.submit(fn, task, key=f"{fn.__name__}-{i}-{tokenize(task)}",
                                 pure=False, retries=3)
                   for i, task in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        results = [None] * len(tasks)
        try:
            for future in dask_completed(futures):
                results[index[future.key]] = future.result()
                finished(index[future.key], results[index[future.key]])
        except BaseException:
            keys = {f.key for f in futures}
            busy = [w for w, running in client.processing().items() if keys & set(running)]
            client.cancel(futures, force=True)
            if busy:  # a task in C code cannot be cancelled: its worker is restarted
                client.run(_exit_worker, workers=busy, wait=False)
            raise
    return results


async def _exit_worker() -> None:
    """Run on a Dask worker's event loop: end its process at once (its nanny starts a fresh
    one); a coroutine, as Dask requires of a function it is not to wait for."""
    os._exit(1)
