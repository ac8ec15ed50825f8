"""Stage `kernel_designs`: the kernel designs measured and not kept, derived from Strassen's
published scheme (not the learned one; bilinear.native.designs) -> metrics/kernel_designs.json
(wall-clock: NOT deterministic).
Reads: params.yaml (seed, kernel_designs), build/reference. Writes: metrics/kernel_designs.json."""

from __future__ import annotations

import sys

from bilinear.algebra.schemes import strassen
from bilinear.io import write_json
from bilinear.native import designs
from bilinear.native.kernel import Kernel
from bilinear.params import Field, ParamError, read_sections
from bilinear.stage import stage_main

SPEC = {"seed": Field(int, low=0),
        "kernel_designs": {"n": Field(int, low=16, high=1 << 15),
                           "threads": Field(list, item=int, low=1, high=2, min_len=1),
                           "repeats": Field(int, low=1, high=100),
                           "pause_seconds": Field(float, low=0.0, high=60.0)}}
OUT = "metrics/kernel_designs.json"


@stage_main
def main() -> int:
    """Time every design of Strassen's scheme (plain build: build/reference/strassen), write OUT."""
    try:
        params = read_sections(SPEC)
        cfg = params["kernel_designs"]
        if cfg["n"] % 4:
            raise ParamError(f"kernel_designs.n: must be divisible by 4, got {cfg['n']}")
        plain = Kernel("build/reference/strassen")
    except (ParamError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = designs.run(strassen(), plain, cfg["n"], cfg["threads"], cfg["repeats"],
                         cfg["pause_seconds"], params["seed"])
    write_json(OUT, result)
    print(f"kernel_designs: wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
