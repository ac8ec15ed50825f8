"""Stage `build_native`: compile models/algorithm.json into a native kernel (build/kernel/).
Reads: params.yaml (native), models/algorithm.json. Writes: build/kernel."""

from __future__ import annotations

import sys

from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.schemes import SchemeFormatError, verify
from bilinear.native.build import build, record_not_built
from bilinear.native.plan import SchemeCompileError
from bilinear.params import Field, ParamError, read_sections
from bilinear.stage import stage_main

SPECS = {
    "native": {
        "max_levels": Field(int, low=0, high=12),
        "split": Field(bool),
    },
}


@stage_main
def main() -> int:
    """Validate the scheme, generate C, compile it into build/kernel/ and its additions-only
    diagnostic variant (no leaf products) into build/kernel/additions/ (the published reference
    schemes are built by the build_reference stage).  A learned scheme that is not exact is an
    experiment's outcome, not an error: build/kernel/config.json then says no kernel was built
    and why, and the bench records that."""
    try:
        cfg = read_sections(SPECS)["native"]
        scheme = load_scheme("models/algorithm.json")
        if not verify(scheme):
            reason = ("models/algorithm.json is not an exact scheme (discretize did not "
                      "crystallize: see metrics/discretize.json)")
            record_not_built("build/kernel", reason)
            print(f"build_native: no kernel built: {reason}")
            return 0
        config = build(scheme, "build/kernel", cfg)
        build(scheme, "build/kernel/additions", cfg, leaves=False)
    except (ParamError, SchemeFormatError, SchemeCompileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"build_native: <{','.join(map(str, config['format']))}> rank {config['rank']}, "
          f"{config['additions_per_level']} block additions per level, "
          f"module {config['module']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
