"""Figures of the batch-size study (matplotlib, no pyplot state): batch effect, phase diagram,
kappa prediction. Every function accepts empty tables and still returns a labelled figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bilinear.seeds import PLOT_JITTER

COLORS = {"round": "#1f77b4", "sparsify": "#d62728"}
PAPER_RANGE, PAPER_RATE = (24, 128), 133 / 195  # the paper's claimed optimal range and rate
MARGIN_LABEL = "final margin δ = max |w − round(w)| (coefficient units)"


def _color(method: str) -> str:
    return COLORS.get(method, "#555555")


def _no_data(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def _batch_axis(ax, batches) -> None:
    """Log2 x axis labelled with the batch sizes themselves."""
    ax.set_xscale("log", base=2)
    if len(batches):
        ax.set_xticks(list(batches), [str(b) for b in batches])
        ax.set_xlim(min(batches) / 1.4, max(batches) * 1.4)
    ax.set_xlabel("batch size B (samples per step, log scale)")


def _anova_note(metrics: dict, method: str, key: str) -> str:
    rec = metrics.get(method, {}).get(key, {})
    if rec.get("F") is None:
        return f"{method}: {rec.get('reason', 'n/a')}"
    return f"{method}: F{tuple(rec['df'])}={rec['F']:.2f}, p={rec['p']:.2g}, η²={rec['eta_sq']:.3f}"


def batch_effect(table: pd.DataFrame, final: pd.DataFrame, metrics: dict) -> Figure:
    """Left: success rate per batch size with Wilson 95% bars; right: final margin per size."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    methods = sorted(final["method"].unique()) if len(final) else []
    batches = list(table["batch_size"]) if len(table) else []
    for i, method in enumerate(methods):
        shift = i - (len(methods) - 1) / 2
        x = np.array(batches, float) * 2 ** (0.05 * shift)
        rate = table[f"rate_{method}"].astype(float).to_numpy()
        err = np.vstack([rate - table[f"ci_low_{method}"].astype(float),
                         table[f"ci_high_{method}"].astype(float) - rate])
        overall = metrics[method]["overall"]
        label = (f"{method} (overall {overall['successes']}/{overall['n']})"
                 if overall["n"] else method)
        left.errorbar(x, rate, yerr=err, fmt="o-", capsize=4, color=_color(method), label=label)
        groups = final[final["method"] == method].groupby("batch_size")["margin"]
        data = [groups.get_group(b).dropna().to_numpy() if b in groups.groups else []
                for b in batches]
        xb = np.array(batches, float) * 2 ** (0.16 * shift)
        box = right.boxplot(data, positions=xb, widths=xb * 0.09, patch_artist=True,
                            manage_ticks=False, medianprops={"color": "black"})
        for patch in box["boxes"]:
            patch.set(facecolor=_color(method), alpha=0.35)
        right.plot([], [], "s", color=_color(method), alpha=0.5, label=method)
    if methods:
        left.axvspan(*PAPER_RANGE, color="0.9", zorder=0, label="paper's range B ∈ [24, 128]")
        left.axhline(PAPER_RATE, color="0.5", ls=":", zorder=0, label="paper's 68% (133/195)")
    for ax in (left, right):
        _batch_axis(ax, batches)
        if methods:
            ax.legend(loc="best", fontsize=8)
        else:
            _no_data(ax)
    left.set(ylim=(-0.03, 1.03), ylabel="success rate (exact and expands), Wilson 95% CI")
    left.set_title("Success per batch size (all runs, both protocols)\none-way ANOVA, protocol B:\n"
                   + "\n".join(_anova_note(metrics, m, "protocol_b_success") for m in methods),
                   fontsize=9)
    right.set_ylabel(MARGIN_LABEL)
    right.set_title("Final margin per batch size (all runs)\none-way ANOVA, protocol A:\n"
                    + "\n".join(_anova_note(metrics, m, "protocol_a_margin") for m in methods),
                    fontsize=9)
    return fig


def _grid(phase: pd.DataFrame, method: str) -> tuple[np.ndarray, list, list]:
    sub = phase[phase["method"] == method]
    grid = sub.pivot(index="epoch", columns="batch_size", values="rate").sort_index()
    grid = grid.reindex(sorted(grid.columns), axis=1)
    return grid.to_numpy(float), list(grid.index), list(grid.columns)


def phase_diagram(phase: pd.DataFrame, levels: list[float]) -> Figure:
    """Heatmap of success rate over batch size x evaluation epoch, one panel per method, with
    contour lines at ``levels``."""
    methods = sorted(phase["method"].unique()) if len(phase) else []
    fig = Figure(figsize=(5.5 * max(len(methods), 1) + 1, 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(methods), 1)))
    image = None
    for ax, method in zip(axes, methods, strict=False):
        z, epochs, batches = _grid(phase, method)
        image = ax.imshow(np.ma.masked_invalid(z), origin="lower", aspect="auto", cmap="viridis",
                          vmin=0, vmax=1)
        if min(z.shape) >= 2 and np.isfinite(z).all():
            cs = ax.contour(z, levels=[lv for lv in levels if z.min() < lv < z.max()],
                            colors="white", linewidths=1.5)
            ax.clabel(cs, fmt=lambda v: f"{v:.0%}", fontsize=8)
        for (i, j), v in np.ndenumerate(z):
            if np.isfinite(v) and z.size <= 120:
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7,
                        color="black" if v > 0.6 else "white")
        ax.set_xticks(range(len(batches)), [str(b) for b in batches])
        ax.set_yticks(range(len(epochs)), [str(e) for e in epochs])
        ax.set(xlabel="batch size B (samples per step)", ylabel="evaluation epoch",
               title=f"{method}: success rate (contours {', '.join(f'{v:.0%}' for v in levels)})")
    if image is None:
        axes[0].set(xlabel="batch size B (samples per step)", ylabel="evaluation epoch")
        _no_data(axes[0])
    else:
        fig.colorbar(image, ax=list(axes), label="success rate (exact and expands)")
    return fig


def kappa_prediction(preds: pd.DataFrame, roc: pd.DataFrame, metrics: dict,
                     checkpoint: str) -> Figure:
    """Left: out-of-fold ROC curves per method and checkpoint; right: early log10 kappa at
    ``checkpoint`` of successful vs failed runs, per method."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot([0, 1], [0, 1], ":", color="0.5", label="chance (AUC 0.5)")
    for series, group in roc.groupby("series", sort=True):
        method, ckpt = series.split(" ", 1)
        rec = metrics[method]["kappa_prediction"][ckpt]
        label = (f"{series}: AUC {rec['auc']:.2f} [{rec['auc_ci_low']:.2f}, "
                 f"{rec['auc_ci_high']:.2f}], acc {rec['accuracy']:.0%} "
                 f"vs {rec['baseline']['rate']:.0%} majority")
        style = "-" if ckpt == checkpoint else "--"
        left.plot(group["fpr"], group["tpr"], style, color=_color(method),
                  alpha=1.0 if ckpt == checkpoint else 0.5, label=label)
    left.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate (failed runs flagged)",
             ylabel="true positive rate (successes flagged)",
             title="Cross-validated logistic regression on early log κ, log trace")
    left.legend(loc="lower right", fontsize=7)
    if roc.empty:
        _no_data(left, "no prediction (degenerate; reason in metrics/anova.json)")
    sub = preds[preds["checkpoint"] == checkpoint] if len(preds) else preds
    col = f"log10_kappa_{checkpoint.split('_', 1)[-1]}"
    rng = np.random.default_rng(PLOT_JITTER)
    ticks = []
    for method in sorted(sub["method"].unique()) if len(sub) and col in sub else []:
        for outcome, name in ((0, "failed"), (1, "succeeded")):
            y = sub[(sub["method"] == method) & (sub["success"] == outcome)][col].to_numpy()
            pos = len(ticks)
            ticks.append(f"{method}\n{name} (n={y.size})")
            right.scatter(pos + rng.uniform(-0.15, 0.15, y.size), y, s=14, alpha=0.6,
                          color=_color(method), marker="o" if outcome else "x")
            if y.size:
                right.hlines(np.median(y), pos - 0.3, pos + 0.3, color="black")
    right.set_xticks(range(len(ticks)), ticks, fontsize=8)
    when = f"{checkpoint.split('_', 1)[-1]}% of training"
    right.set(ylabel=f"log10 κ at {when} (dimensionless)",
              title=f"Early κ ({when}) by final outcome; bar = median")
    if not ticks:
        _no_data(right, "no runs with a finite κ in both outcome classes")
    return fig
