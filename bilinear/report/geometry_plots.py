"""Figures of the geometry study: gradient-covariance spectra per batch size, and one run's
weights along the paper's recipe and along anneal (cloud, clusters, integer lattice)."""

from __future__ import annotations

import numpy as np

from bilinear.report.figures import plt, png_bytes


def spectra_figure(spectra: dict[str, dict[int, np.ndarray]], titles: dict[str, str]) -> bytes:
    """Median normalised eigenvalues (lambda_k / lambda_1, log scale) of the per-sample gradient
    covariance, one line per batch size, one panel per checkpoint of `titles` {name: title}."""
    names = [n for n in titles if n in spectra]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(4.2 * max(len(names), 1), 3.8),
                             sharey=True)
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, names, strict=False):
        batches = sorted(spectra[name])
        colours = plt.cm.viridis(np.linspace(0, 0.95, len(batches)))
        for colour, b in zip(colours, batches, strict=True):
            lam = spectra[name][b]
            ax.semilogy(np.arange(1, lam.size + 1), np.maximum(lam, 1e-32), color=colour,
                        lw=1.3, ls="-" if 24 <= b <= 128 else "--", label=f"B={b}")
        ax.set_title(titles[name], fontsize=9)
        ax.set_xlabel("eigenvalue index k")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("median lambda_k / lambda_1 over runs")
    axes[-1].legend(fontsize=7, loc="lower left", ncol=2)
    fig.suptitle("Per-sample gradient covariance spectra by batch size (solid: inside the "
                 "paper's [24, 128]; dashed: outside)", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)


def weights_figure(paper: dict[str, np.ndarray], anneal: dict[str, np.ndarray],
                   path: np.ndarray, path_epochs: list[int], anneal_points: np.ndarray) -> bytes:
    """Histograms of one run's weights at successive stages of the paper's recipe (left) and of
    anneal (right), {label: flat weights}, and a 2-D principal-component projection of the path
    (training snapshots `path` (T, D) at `path_epochs`, then the anneal's points (K, D))."""
    rows = max(len(paper), len(anneal))
    fig = plt.figure(figsize=(11, 1.25 * rows + 3.6))
    grid = fig.add_gridspec(rows + 2, 2)
    bins = np.linspace(-2.0, 2.0, 121)
    for col, (title, stages) in enumerate((("paper's recipe: train, prune, round", paper),
                                           ("anneal: prune, fit, L1, penalty, Q", anneal))):
        for row, (label, values) in enumerate(stages.items()):
            ax = fig.add_subplot(grid[row, col])
            ax.hist(np.clip(values, -2, 2), bins=bins, color="tab:blue" if col == 0 else
                    "tab:red")
            ax.text(0.01, 0.75, label, transform=ax.transAxes, fontsize=8)
            for x in (-1, 0, 1):
                ax.axvline(x, color="grey", lw=0.6, ls=":")
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title, fontsize=9)
    ax = fig.add_subplot(grid[rows:, :])
    points = np.vstack([path, anneal_points])
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    t = len(path)
    ax.plot(xy[:t, 0], xy[:t, 1], "-o", ms=2, color="tab:blue", label="training (paper's recipe)")
    ax.plot(xy[t - 1:, 0], xy[t - 1:, 1], "-s", ms=4, color="tab:red",
            label="anneal (after fit, L1, penalty)")
    for k in (0, t - 1):
        ax.annotate(f"epoch {path_epochs[k]}", xy[k], fontsize=7)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle("Geometry of learning: one run's weights (the kept slots) from a diffuse cloud "
                 "to where each method ends", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)
