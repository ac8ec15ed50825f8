"""Stage `prune`: remove the least important slots (the paper's Phase 2a), optionally fine-tune.
Reads: params.yaml (prune), models/trained.pt, data/train.npz, data/test.npz. Writes:
models/pruned.pt, metrics/prune.json."""

from __future__ import annotations

import sys

import numpy as np
import torch

from bilinear import params as blocks
from bilinear.checks import Outputs, check_entries, check_pairs, check_weights
from bilinear.io import load_npz, load_torch
from bilinear.learn.prune import prune, slot_importance
from bilinear.learn.training import Recipe, check_memory, dataset_mse, train_runs
from bilinear.params import Field, read_sections
from bilinear.stage import stage_main

SPECS = {
    "prune": {"pruned_slots": blocks.SLOTS, "finetune": blocks.recipe(epochs=Field(int, low=0))},
}


@stage_main
def main() -> int:
    """Write models/pruned.pt and metrics/prune.json."""
    cfg = read_sections(SPECS)["prune"]
    torch.set_num_threads(1)
    ckpt = load_torch("models/trained.pt", keys=("U", "V", "W", "seed"))
    fmt, _ = check_weights("models/trained.pt", ckpt, runs=1)
    check_entries("models/trained.pt", ckpt, {"seed": int})
    U, V, W = ckpt["U"], ckpt["V"], ckpt["W"]
    if cfg["pruned_slots"] > U.shape[1]:
        print(f"error: prune.pruned_slots: {cfg['pruned_slots']} exceeds the {U.shape[1]} trained "
              "slots", file=sys.stderr)
        return 2
    train, test = (load_npz(f"data/{s}.npz", keys=("a", "b", "c")) for s in ("train", "test"))
    check_pairs("data/train.npz", train, fmt, "models/trained.pt")
    check_pairs("data/test.npz", test, fmt, "models/trained.pt")
    check_memory("prune.finetune", fmt, cfg["pruned_slots"], cfg["finetune"]["epochs"],
                 max(len(train["a"]), len(test["a"])))
    importance = slot_importance(U, V, W)[0]
    Up, Vp, Wp, removed = prune(U, V, W, cfg["pruned_slots"])
    metrics = {
        "slots_before": int(U.shape[1]),
        "slots_after": cfg["pruned_slots"],
        "removed_slots": removed[0].tolist(),
        "importance": [float(x) for x in importance],
        "train_loss_before": float(dataset_mse(U, V, W, train)[0]),
        "train_loss_pruned": float(dataset_mse(Up, Vp, Wp, train)[0]),
        "test_loss_pruned": float(dataset_mse(Up, Vp, Wp, test)[0]),
        "finetune_epochs": cfg["finetune"]["epochs"],
    }
    if cfg["finetune"]["epochs"] > 0:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged run is refused below
            result = train_runs(Up, Vp, Wp, train, test, Recipe.from_params(cfg["finetune"]),
                                [ckpt["seed"]], progress=True, shuffle="finetune")
        Up, Vp, Wp = result.U, result.V, result.W
        metrics["train_loss_finetuned"] = float(result.train_loss[-1, 0])
        metrics["test_loss_finetuned"] = float(result.test_loss[-1, 0])
    pruned = {**ckpt, "U": Up, "V": Vp, "W": Wp, "prune": dict(cfg)}
    check_weights("models/pruned.pt (the pruned weights)", pruned, fmt)
    out = Outputs()
    out.add_torch("models/pruned.pt", pruned)
    out.add_json("metrics/prune.json", metrics, "the pruning losses")
    out.commit()
    print(f"prune: {metrics['slots_before']} -> {cfg['pruned_slots']} slots (removed "
          f"{metrics['removed_slots']}), train loss {metrics['train_loss_before']:.3g} -> "
          f"{metrics['train_loss_pruned']:.3g}, fine-tune epochs {cfg['finetune']['epochs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
