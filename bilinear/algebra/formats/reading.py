"""What a format's reader returns: the scheme, the format's name and its declared ring."""

from __future__ import annotations

from bilinear.algebra.schemes import Scheme


class Reading:
    """A scheme read from a file: the scheme, the format's name and whether the file declares
    itself valid modulo 2 only (ternary-json with z2 true)."""

    def __init__(self, scheme: Scheme, fmt_name: str, declared_mod2: bool = False) -> None:
        self.scheme, self.format, self.declared_mod2 = scheme, fmt_name, declared_mod2
