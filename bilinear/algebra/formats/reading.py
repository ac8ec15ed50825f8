"""What a format's reader returns (the scheme, the format's name and its declared ring), and the
progress shown while a large file is read."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from bilinear.algebra.schemes import Scheme

PROGRESS_BYTES = 4 << 20  # files at least this large show their progress on a terminal


class Reading:
    """A scheme read from a file: the scheme, the format's name and whether the file declares
    itself valid modulo 2 only (ternary-json with z2 true)."""

    def __init__(self, scheme: Scheme, fmt_name: str, declared_mod2: bool = False) -> None:
        self.scheme, self.format, self.declared_mod2 = scheme, fmt_name, declared_mod2


@contextlib.contextmanager
def progress_bar(label: str, path: Path) -> Iterator[Callable[[int, int], None] | None]:
    """A progress(done, total) callback drawing a bar on stderr while a file of PROGRESS_BYTES
    or more is read, if stderr is a terminal; None otherwise."""
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0
    if size < PROGRESS_BYTES or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=size, desc=label, unit="B", unit_scale=True, file=sys.stderr, leave=False)
    try:
        yield lambda done, total: bar.update(done - bar.n)
    finally:
        bar.close()
