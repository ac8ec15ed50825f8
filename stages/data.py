"""Stage `data`: the fixed training set and the held-out test set of Gaussian matrix pairs.
Reads: params.yaml (seed, task, data). Writes: data/train.npz, data/test.npz."""

from __future__ import annotations

import sys

from bilinear import params as blocks
from bilinear.checks import Outputs, require_memory
from bilinear.learn.data import make_datasets
from bilinear.params import Field, read_sections
from bilinear.stage import stage_main

SPECS = {
    "seed": blocks.SEED,
    "task": blocks.TASK,
    "data": {
        "n_train": Field(int, low=1),
        "n_test": Field(int, low=1),
        "scale": Field(float, low=1e-6, high=1e6),
    },
}


@stage_main
def main() -> int:
    """Write data/train.npz and data/test.npz."""
    params = read_sections(SPECS)
    fmt = tuple(params["task"]["format"])
    cfg = params["data"]
    n, m, p = fmt
    for key in ("n_train", "n_test"):  # the pairs, a copy of them and the file's bytes in memory
        require_memory(f"data.{key}", 3 * 8 * cfg[key] * (n * m + m * p + n * p),
                       f"{cfg[key]} pairs of {n}x{m}x{p} matrices")
    train, test = make_datasets(fmt, cfg["n_train"], cfg["n_test"], params["seed"], cfg["scale"])
    out = Outputs()
    out.add_npz("data/train.npz", **train)
    out.add_npz("data/test.npz", **test)
    out.commit()
    print(f"data: {cfg['n_train']} training and {cfg['n_test']} test pairs of "
          f"{'x'.join(map(str, fmt))} Gaussian matrices (seed {params['seed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
