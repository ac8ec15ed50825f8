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


def expansion_figure(sizes: list[int], series: dict[str, list[float]],
                     paper: dict[int, float]) -> bytes:
    """Relative error of the recursive expansion by matrix size per dtype, beside the paper's."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, errors in series.items():
        ax.loglog(sizes, np.maximum(errors, 1e-18), "o-", label=f"this pipeline, {label}")
    if paper:
        ks = sorted(paper)
        ax.loglog(ks, [paper[k] for k in ks], "s--", color="grey", label="paper, Table 1")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("matrix size N (N x N times N x N)")
    ax.set_ylabel("normwise relative error vs numpy float64")
    ax.set_title("Zero-shot expansion of the learned 2x2 scheme")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def coefficient_figure(snapshots: dict[str, np.ndarray]) -> bytes:
    """Distribution of the coefficients at successive checkpoints (one histogram row each).

    snapshots: {label: flat coefficient array}, in display order (e.g. epochs, pruned, final)."""
    fig, axes = plt.subplots(len(snapshots), 1, figsize=(6.8, 1.35 * len(snapshots) + 0.8),
                             sharex=True)
    axes = np.atleast_1d(axes)
    bins = np.linspace(-2.0, 2.0, 161)
    for ax, (label, values) in zip(axes, snapshots.items(), strict=True):
        ax.hist(np.clip(values, -2, 2), bins=bins, color="tab:blue")
        ax.set_ylabel("count", fontsize=8)
        ax.text(0.01, 0.8, label, transform=ax.transAxes, fontsize=8)
        for x in (-1, 0, 1):
            ax.axvline(x, color="grey", lw=0.6, ls=":")
    axes[-1].set_xlabel("coefficient value of U, V, W (clipped to [-2, 2])")
    fig.suptitle("Weight crystallization: coefficients during training and after discretization",
                 fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)


def kappa_figure(checkpoints: dict[str, dict]) -> bytes:
    """kappa and Tr(Sigma)/d per checkpoint (log scale); a degenerate checkpoint is marked."""
    names = list(checkpoints)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for ax, key, label in ((axes[0], "kappa", "kappa (largest / smallest nonzero eigenvalue)"),
                           (axes[1], "trace_over_d", "Tr(Sigma) / d")):
        for i, name in enumerate(names):
            value = checkpoints[name].get(key)
            if checkpoints[name].get("degenerate") and key == "kappa" or not value:
                ax.text(i, 0.5, "undefined\n(every per-sample\ngradient is 0)", ha="center",
                        fontsize=8, transform=ax.get_xaxis_transform())
                continue
            ax.bar(i, value, color="tab:orange")
        ax.set_yscale("log")
        ax.set_xlim(-0.9, len(names) - 0.4)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, axis="y")
    axes[0].axhline(1.0, color="grey", ls="--", lw=1)
    fig.suptitle("Gradient-noise covariance of per-sample gradients by checkpoint "
                 "(dashed: the paper's kappa = 1)", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)
