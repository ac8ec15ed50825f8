"""Stage `train`: the paper's Phase 1, one run (R = 1) with the recipe of params `train`.
Reads: params.yaml (seed, train), data/train.npz, data/test.npz. Writes: models/trained.pt,
plots/train/loss.csv, plots/train/margin.csv, metrics/train.json."""

from __future__ import annotations

import math
import sys

import numpy as np
import torch

from bilinear import params as blocks
from bilinear.checks import Outputs, check_pairs, check_weights
from bilinear.io import load_npz
from bilinear.learn.crystal import margin, round_clamp
from bilinear.learn.model import INITS
from bilinear.learn.training import Recipe, check_memory, grokking_epoch, init_runs, train_runs
from bilinear.params import Field, read_sections
from bilinear.stage import stage_main

SPECS = {
    "seed": blocks.SEED,
    "train": {"slots": blocks.SLOTS, "init": Field(str, choices=INITS),
              "init_scale": Field(float, low=1e-6, high=1e6), **blocks.RECIPE},
}


SNAPSHOT_EPOCHS = (1, 10, 100)  # flat weights kept at these epochs (and at 0) in models/trained.pt


@stage_main
def main() -> int:
    """Write models/trained.pt, metrics/train.json, plots/train/loss.csv and margin.csv."""
    params = read_sections(SPECS)
    torch.set_num_threads(1)
    cfg, seed = params["train"], params["seed"]
    train, test = (load_npz(f"data/{s}.npz", keys=("a", "b", "c")) for s in ("train", "test"))
    n, m, p = check_pairs("data/train.npz", train)
    check_pairs("data/test.npz", test, (n, m, p), "data/train.npz")
    check_memory("train", (n, m, p), cfg["slots"], cfg["epochs"],
                 max(len(train["a"]), len(test["a"])))
    U, V, W = init_runs((n, m, p), cfg["slots"], [seed], cfg["init"], cfg["init_scale"])
    margins = []  # the paper's delta = max |theta - Q(theta)| of the trained weights, per epoch
    snapshots = {0: torch.cat([t.reshape(-1) for t in (U, V, W)])}  # for the crystallization plot
    keep = {e for e in SNAPSHOT_EPOCHS if e < cfg["epochs"]}

    def track(epoch: int, theta: torch.Tensor) -> None:
        x = theta.numpy()
        margins.append(margin(x, round_clamp(x)))
        if epoch in keep:
            snapshots[epoch] = theta[0].clone()

    with np.errstate(over="ignore", invalid="ignore"):  # a diverged run is refused below
        result = train_runs(U, V, W, train, test, Recipe.from_params(cfg), [seed],
                            callback=track, progress=True)
    tr, te = result.train_loss[:, 0], result.test_loss[:, 0]
    below = [e + 1 for e in range(len(tr)) if tr[e] < 1e-6]
    trained = {"format": [n, m, p], "U": result.U, "V": result.V, "W": result.W, "seed": seed,
               "recipe": dict(cfg), "snapshots": snapshots}
    check_weights("models/trained.pt (the trained weights)", trained)
    metrics = {
        "epochs": cfg["epochs"],
        "final_train_loss": float(tr[-1]),
        "final_test_loss": float(te[-1]),
        "min_test_loss": float(te.min()),
        "first_epoch_train_below_1e-6": below[0] if below else None,
        "grokking_epoch": grokking_epoch(tr, te),
        "final_margin": margins[-1],
        "min_margin": min(margins),
    }
    out = Outputs()
    out.add_torch("models/trained.pt", trained)
    out.add_json("metrics/train.json", metrics, "the training losses")
    out.add_csv("plots/train/loss.csv", [
        {"epoch": e + 1, "train_loss": repr(float(tr[e])), "test_loss": repr(float(te[e])),
         "log10_train_loss": _log10(tr[e]), "log10_test_loss": _log10(te[e])}
        for e in range(len(tr))])
    out.add_csv("plots/train/margin.csv",
                [{"epoch": e + 1, "margin": repr(x)} for e, x in enumerate(margins)])
    out.commit()
    print(f"train: {cfg['epochs']} epochs, final train loss {tr[-1]:.3g}, test loss {te[-1]:.3g}, "
          f"grokking epoch {metrics['grokking_epoch']}")
    return 0


def _log10(x: float) -> str:
    return repr(round(math.log10(max(float(x), 1e-300)), 6))


if __name__ == "__main__":
    sys.exit(main())
