"""Stage `build_native`: compile models/algorithm.json into a native kernel (native/build/)."""

from __future__ import annotations

import sys

from bilinear.algebra.schemes import SchemeFormatError, load_scheme, verify
from bilinear.params import Field, ParamError, read_sections
from native.build import build
from native.imported import build_imported
from native.plan import SchemeCompileError
from native.winograd import winograd

SPECS = {
    "native": {
        "max_levels": Field(int, low=0, high=12),
        "split": Field(bool),
    },
}


def main() -> int:
    """Validate the scheme, generate C, compile it into native/build/, Winograd's variant (the
    bench's 15-addition reference) into native/build/winograd/ and the additions-only
    diagnostic variant (no leaf products) into native/build/additions/ and the imported schemes
    of the bench's leaderboard into native/build/leaderboard/<format>/."""
    try:
        cfg = read_sections(SPECS)["native"]
        scheme = load_scheme("models/algorithm.json")
        if not verify(scheme):
            print("error: models/algorithm.json is not an exact scheme (discretize did not "
                  "crystallize: see metrics/discretize.json); nothing to compile", file=sys.stderr)
            return 2
        config = build(scheme, "native/build", cfg)
        build(winograd(), "native/build/winograd", cfg)
        build(scheme, "native/build/additions", cfg, leaves=False)
        build_imported("native/build/leaderboard", cfg)
    except (ParamError, SchemeFormatError, SchemeCompileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"build_native: <{','.join(map(str, config['format']))}> rank {config['rank']}, "
          f"{config['additions_per_level']} block additions per level, "
          f"module {config['module']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
