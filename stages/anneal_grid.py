"""Stage `anneal_grid`: anneal's phase diagram over weight decay x L1 strength at one batch size
-> metrics/anneal_grid.json, plots/anneal_grid.csv, plots/anneal_grid.png."""

from __future__ import annotations

import sys

import torch

from bilinear.io import atomic_write_bytes, write_csv, write_json
from bilinear.learn.methods import anneal
from bilinear.learn.training import Recipe
from bilinear.params import Field, read_sections
from bilinear.report.anneal_plots import grid_diagram
from bilinear.report.figures import png_bytes
from bilinear.stage import stage_main
from bilinear.studies.anneal_grid import analyze, run_grid

SPECS = {
    "seed": Field(int, low=0),
    "task": {"format": Field(list, item=int, low=1, min_len=3)},
    "anneal": anneal.SPEC,
    "anneal_grid": {
        "batch_size": Field(int, low=1),
        "seeds": Field(int, low=2, high=1000),
        "n_train": Field(int, low=1),
        "slots": Field(int, low=1),
        "pruned_slots": Field(int, low=1),
        "phase1_epochs": Field(int, low=1),
        "phase1_lr": Field(float, low=1e-12, high=10.0),
        "phase1_weight_decay": Field(float, low=0.0, high=1.0),
        "weight_decays": Field(list, item=float, low=0.0, high=1.0, min_len=2),
        "l1s": Field(list, item=float, low=0.0, high=1.0, min_len=2),
        "alpha": Field(float, low=1e-6, high=0.5),
    },
}
SEED_OFFSET = 7000  # run seeds: seed * 100_000 + SEED_OFFSET + k (disjoint from conditions')


@stage_main
def main() -> int:
    """Train, anneal every cell, analyse; write the metrics, the cell table and the figure."""
    params = read_sections(SPECS)
    torch.set_num_threads(1)
    cfg = params["anneal_grid"]
    seeds = [params["seed"] * 100_000 + SEED_OFFSET + k for k in range(cfg["seeds"])]
    phase1 = Recipe(epochs=cfg["phase1_epochs"], batch_size=cfg["batch_size"],
                    lr=cfg["phase1_lr"], weight_decay=cfg["phase1_weight_decay"])
    df = run_grid(tuple(params["task"]["format"]), seeds, cfg["batch_size"], phase1,
                  cfg["slots"], cfg["pruned_slots"], cfg["n_train"], params["anneal"]["lr"],
                  anneal.Schedule.from_params(params["anneal"]), cfg["weight_decays"],
                  cfg["l1s"], progress=True)
    metrics, cells = analyze(df, cfg["alpha"])
    write_json("metrics/anneal_grid.json", {"batch_size": cfg["batch_size"], "seeds": seeds,
                                            **metrics})
    write_csv("plots/anneal_grid.csv", cells.to_dict(orient="records"))
    atomic_write_bytes("plots/anneal_grid.png", png_bytes(grid_diagram(cells, cfg["batch_size"])))
    a = metrics["anova"]
    print(f"anneal_grid: {metrics['runs']} runs at B={cfg['batch_size']}, exact "
          f"{metrics['overall']['successes']}/{metrics['runs']}; ANOVA weight decay p={a.get('p')}"
          f", l1 p={a.get('l1', {}).get('p')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
