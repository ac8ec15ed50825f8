"""The entry point every stage shares: a params error or an unreadable input file ends a stage
with one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from bilinear.io import LoadError
from bilinear.params import ParamError


def stage_main(main: Callable[..., int]) -> Callable[..., int]:
    """Decorate a stage's main(): a ParamError or a LoadError (scheme-file errors included) ends
    it with one line on stderr and exit code 2."""

    @functools.wraps(main)
    def run(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except (ParamError, LoadError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run
