"""The entry point every stage shares: params errors end a stage with one line and exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from bilinear.params import ParamError


def stage_main(main: Callable[..., int]) -> Callable[..., int]:
    """Decorate a stage's main(): a ParamError ends it with one line on stderr and exit code 2."""

    @functools.wraps(main)
    def run(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except ParamError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run
