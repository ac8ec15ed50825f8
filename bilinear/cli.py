"""Command line: `python -m bilinear verify PATH [--key 3x3x3]`.

Exit status 0 = the scheme is exact, 1 = it loads but some Brent equation fails, 2 = it cannot be
read (malformed, wrong shapes, non-numeric, needs pickle, unknown key, ...). One line is printed:
to stdout for 0 and 1, to stderr (prefixed "error:") for 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bilinear.algebra.schemes import (
    Scheme,
    SchemeFormatError,
    load_npz_scheme,
    load_scheme,
    npz_keys,
    residual,
)

EXACT, INCORRECT, UNREADABLE = 0, 1, 2
ZIP_MAGIC = b"PK\x03\x04"


def _is_npz(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == ZIP_MAGIC
    except OSError as exc:
        raise SchemeFormatError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_any(path: str | Path, key: str | None) -> tuple[Scheme, str]:
    """Load a scheme JSON file, or format `key` of an npz in the shared plain format.

    Returns (scheme, label); raises SchemeFormatError with one clear line when unreadable.
    """
    path = Path(path)
    if not _is_npz(path):
        if key is not None:
            raise SchemeFormatError(f"{path} is not an npz file; --key applies only to npz files")
        return _labelled(load_scheme, path, str(path)), f"{path} (scheme JSON)"
    keys = sorted(npz_keys(path), key=_format_order)
    if key is None or key not in keys:
        what = "needs --key" if key is None else f"has no scheme {key!r}"
        raise SchemeFormatError(f"{path} {what}; available keys: {', '.join(keys) or 'none'}")
    return _labelled(load_npz_scheme, path, f"{path}:{key}", key), f"{path}:{key} (npz plain)"


def _labelled(load, path: Path, label: str, *args) -> Scheme:
    """Call load(path, *args), making sure an error message names the file."""
    try:
        return load(path, *args)
    except SchemeFormatError as exc:
        if str(path) in str(exc):
            raise
        raise SchemeFormatError(f"{label}: {exc}") from None


def _format_order(key: str) -> tuple:
    parts = key.split("x")
    return tuple(int(x) for x in parts) if all(x.isdigit() for x in parts) else (key,)


def verify_command(path: str, key: str | None) -> int:
    """Verify one scheme file and print one line; returns the exit status."""
    try:
        scheme, label = read_any(path, key)
    except SchemeFormatError as exc:
        print(f"error: unreadable scheme: {exc}", file=sys.stderr)
        return UNREADABLE
    n, m, p = scheme.fmt
    failing = int(np.count_nonzero(residual(scheme) != 0))
    total = n * m * m * p * n * p
    what = f"{label} format {n}x{m}x{p} rank {scheme.rank}"
    if failing == 0:
        print(f"exact: {what}: all {total} Brent equations hold")
        return EXACT
    print(f"incorrect: {what}: {failing} of {total} Brent equations fail")
    return INCORRECT


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the requested command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bilinear",
                                     description="Tools for matrix-multiplication schemes.")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="verify a scheme exactly (exit 0 exact, 1 incorrect, "
                                           "2 unreadable)")
    verify.add_argument("path", help="scheme JSON file, or npz in the shared plain format")
    verify.add_argument("--key", help="format key inside an npz file, e.g. 3x3x3")
    args = parser.parse_args(argv)
    return verify_command(args.path, args.key)
