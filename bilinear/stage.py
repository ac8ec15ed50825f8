"""The entry point every stage shares: `python -m stages.X --help` prints the stage's docstring
(what it reads and writes), any other unexpected argument is refused, and a params error, an
unreadable input file or an unwritable output ends a stage with one line on stderr and exit
code 2."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable

from bilinear.io import LoadError, OutputError
from bilinear.params import ParamError

HELP = ("-h", "--help")


def command_line(module, takes_argument: bool, argv: list[str]) -> int | None:
    """The exit status for a stage module's command line argv (the arguments after the module),
    or None when the stage should run: --help prints the module's docstring (0); a stage that
    takes no argument refuses any (2); one that takes an argument refuses options (2)."""
    name = getattr(getattr(module, "__spec__", None), "name", None) or "stages"
    if any(arg in HELP for arg in argv):
        print((module.__doc__ or f"{name}: no description").strip())
        return 0
    options = [arg for arg in argv if arg.startswith("-")]
    if (argv and not takes_argument) or options:
        what = "options" if takes_argument else "arguments"
        print(f"error: python -m {name} takes no {what} (got {' '.join(options or argv)!r}); "
              f"python -m {name} --help tells what it reads and writes", file=sys.stderr)
        return 2
    return None


def stage_main(main: Callable[..., int]) -> Callable[..., int]:
    """Decorate a stage's main(): run as `python -m stages.X`, its command line is checked first
    (see command_line) before any work; a ParamError, a LoadError (scheme-file errors included)
    or an OutputError ends it with one line on stderr and exit code 2."""
    takes_argument = "argv" in inspect.signature(main).parameters

    @functools.wraps(main)
    def run(*args, **kwargs) -> int:
        if main.__module__ == "__main__" and not args and not kwargs:
            status = command_line(sys.modules["__main__"], takes_argument, sys.argv[1:])
            if status is not None:
                return status
        try:
            return main(*args, **kwargs)
        except (ParamError, LoadError, OutputError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run
