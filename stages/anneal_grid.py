"""Stage `anneal_grid`: anneal's phase diagram over weight decay x L1 strength at one batch size
-> metrics/anneal_grid.json, plots/anneal_grid.csv, plots/anneal_grid.png.
Reads: params.yaml (seed, task, anneal, anneal_grid). Writes: plots/anneal_grid.csv,
plots/anneal_grid.png, metrics/anneal_grid.json."""

from __future__ import annotations

import sys

import torch

from bilinear import params as blocks
from bilinear.checks import Outputs
from bilinear.learn.methods import anneal
from bilinear.learn.training import Recipe, check_memory
from bilinear.params import Field, read_sections
from bilinear.report.anneal_plots import grid_diagram
from bilinear.report.figures import png_bytes
from bilinear.seeds import run_seeds
from bilinear.stage import stage_main
from bilinear.studies.anneal_grid import analyze, run_grid

SPECS = {
    "seed": blocks.SEED,
    "task": blocks.TASK,
    "anneal": blocks.ANNEAL,
    "anneal_grid": {
        "seeds": Field(int, low=2, high=1000),
        "n_train": Field(int, low=1),
        "slots": blocks.SLOTS,
        "pruned_slots": blocks.SLOTS,
        "phase1": blocks.RECIPE,
        "weight_decays": Field(list, item=float, low=0.0, high=1.0, min_len=2),
        "l1s": Field(list, item=float, low=0.0, high=1.0, min_len=2),
        "alpha": blocks.ALPHA,
    },
}


@stage_main
def main() -> int:
    """Train, anneal every cell, analyse; write the metrics, the cell table and the figure."""
    params = read_sections(SPECS)
    torch.set_num_threads(1)
    cfg = params["anneal_grid"]
    blocks.check_pruned("anneal_grid", cfg)
    check_memory("anneal_grid", tuple(params["task"]["format"]), cfg["slots"],
                 cfg["phase1"]["epochs"], cfg["n_train"], runs=cfg["seeds"],
                 epochs_key="phase1.epochs")
    seeds = run_seeds("anneal_grid", params["seed"], cfg["seeds"])
    phase1 = Recipe.from_params(cfg["phase1"])
    batch = phase1.batch_size
    df = run_grid(tuple(params["task"]["format"]), seeds, batch, phase1,
                  cfg["slots"], cfg["pruned_slots"], cfg["n_train"], params["anneal"]["lr"],
                  anneal.Schedule.from_params(params["anneal"]), cfg["weight_decays"],
                  cfg["l1s"], progress=True)
    metrics, cells = analyze(df, cfg["alpha"])
    out = Outputs()
    out.add_json("metrics/anneal_grid.json", {"batch_size": batch, "seeds": seeds, **metrics},
                 "the grid's statistics")
    out.add_csv("plots/anneal_grid.csv", cells.to_dict(orient="records"))
    out.add_bytes("plots/anneal_grid.png", png_bytes(grid_diagram(cells, batch)))
    out.commit()
    a = metrics["anova"]
    print(f"anneal_grid: {metrics['runs']} runs at B={batch}, exact "
          f"{metrics['overall']['successes']}/{metrics['runs']}; ANOVA weight decay p={a.get('p')}"
          f", l1 p={a.get('l1', {}).get('p')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
