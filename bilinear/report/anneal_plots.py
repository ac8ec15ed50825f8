"""anneal's phase diagram: exact-after-Q rate over weight decay x L1 strength, Wilson intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def grid_diagram(cells: pd.DataFrame, batch: int) -> Figure:
    """Heatmap of the rate per (weight_decay, l1) cell, each annotated 'rate [low, high]'."""
    grid = cells.pivot(index="weight_decay", columns="l1", values="rate").sort_index()
    grid = grid.reindex(sorted(grid.columns), axis=1)
    low = cells.pivot(index="weight_decay", columns="l1", values="ci_low").reindex_like(grid)
    high = cells.pivot(index="weight_decay", columns="l1", values="ci_high").reindex_like(grid)
    z = grid.to_numpy(float)
    fig = Figure(figsize=(1.6 * z.shape[1] + 2.5, 1.0 * z.shape[0] + 1.8), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(z), origin="lower", aspect="auto", cmap="viridis",
                      vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(z):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.0%}\n[{low.iat[i, j]:.0%}, {high.iat[i, j]:.0%}]", ha="center",
                    va="center", fontsize=7, color="black" if v > 0.6 else "white")
    ax.set_xticks(range(z.shape[1]), [f"{x:g}" for x in grid.columns])
    ax.set_yticks(range(z.shape[0]), [f"{x:g}" for x in grid.index])
    ax.set(xlabel="L1 strength of the anneal", ylabel="weight decay of the anneal",
           title=f"anneal at B={batch}: exact after Q (95% Wilson)")
    fig.colorbar(image, ax=ax, label="exact rate")
    return fig
