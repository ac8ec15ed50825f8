"""Stage `data`: the fixed training set and the held-out test set of Gaussian matrix pairs.
Reads: params.yaml (seed, task, data). Writes: data/train.npz, data/test.npz."""

from __future__ import annotations

import sys

from bilinear import params as blocks
from bilinear.io import save_npz
from bilinear.learn.data import make_datasets
from bilinear.params import Field, read_sections
from bilinear.stage import stage_main

SPECS = {
    "seed": blocks.SEED,
    "task": blocks.TASK,
    "data": {
        "n_train": Field(int, low=1),
        "n_test": Field(int, low=1),
        "scale": Field(float, low=1e-6),
    },
}


@stage_main
def main() -> int:
    """Write data/train.npz and data/test.npz."""
    params = read_sections(SPECS)
    fmt = tuple(params["task"]["format"])
    cfg = params["data"]
    train, test = make_datasets(fmt, cfg["n_train"], cfg["n_test"], params["seed"], cfg["scale"])
    save_npz("data/train.npz", **train)
    save_npz("data/test.npz", **test)
    print(f"data: {cfg['n_train']} training and {cfg['n_test']} test pairs of "
          f"{'x'.join(map(str, fmt))} Gaussian matrices (seed {params['seed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
