"""Matplotlib figures of the main pipeline's results (PNG bytes, written by the stages)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def png_bytes(fig) -> bytes:
    """Render a figure to PNG bytes (fixed metadata, so same figure -> same bytes) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def grokking_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Train and test loss per epoch (log scale), one colour per condition, one line per run.

    curves: {condition: (train_loss (epochs, runs), test_loss (epochs, runs))}."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colours = plt.cm.tab10(np.arange(len(curves)) % 10)
    for colour, (name, (tr, te)) in zip(colours, curves.items(), strict=True):
        if tr.shape[0] < 2:  # an untrained control has no curve
            continue
        epochs = np.arange(1, tr.shape[0] + 1)
        for ax, loss in zip(axes, (tr, te), strict=True):
            ax.semilogy(epochs, np.maximum(loss, 1e-300), color=colour, lw=0.8, alpha=0.55)
            ax.semilogy([], [], color=colour, lw=2, label=name)
    for ax, title in zip(axes, ("training loss", "held-out test loss"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.axhline(1e-6, color="grey", ls=":", lw=1)
        ax.grid(alpha=0.3)
    axes[1].axhline(0.1, color="grey", ls="--", lw=1)
    axes[0].set_ylabel("MSE per output entry (log scale)")
    axes[1].legend(fontsize=8, loc="upper right")
    fig.suptitle("Loss curves by training condition (thin lines: individual runs; dotted: 1e-6, "
                 "dashed: 0.1 = the paper's grokking thresholds)", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)


def expansion_figure(sizes: list[int], errors: list[float], paper: dict[int, float]) -> bytes:
    """Relative error of the recursive expansion by matrix size, ours against the paper's table."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(sizes, np.maximum(errors, 1e-18), "o-", label="this pipeline (float64)")
    if paper:
        ks = sorted(paper)
        ax.loglog(ks, [paper[k] for k in ks], "s--", label="paper, Table 1 (float32)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("matrix size N (N x N times N x N)")
    ax.set_ylabel("normwise relative error vs numpy")
    ax.set_title("Zero-shot expansion of the learned 2x2 scheme")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return png_bytes(fig)


def coefficient_figure(before: np.ndarray, after: np.ndarray, title: str) -> bytes:
    """Histogram of the coefficients before (continuous) and after crystallization."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    bins = np.linspace(-2.0, 2.0, 81)
    ax.hist(np.clip(before, -2, 2), bins=bins, alpha=0.6, label="continuous (pruned model)")
    ax.hist(np.clip(after, -2, 2), bins=bins, alpha=0.6, label="after crystallization")
    ax.set_xlabel("coefficient value (clipped to [-2, 2])")
    ax.set_ylabel("number of coefficients")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)
