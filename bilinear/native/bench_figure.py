"""Speedup-by-size figure of the benchmark."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def speedup_figure(rows: list[dict], note: str | None = None) -> bytes:
    """PNG of the kernel speedup against the leaf BLAS (solid) and numpy.matmul (dashed, where
    timed) by N, one colour per (dtype, threads), with note written across it (why there is
    nothing to plot, say)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if note:
        ax.text(0.5, 0.5, note, ha="center", va="center", wrap=True, transform=ax.transAxes)
    groups = sorted({(r["dtype"], r["threads"]) for r in rows})
    for i, (dtype, threads) in enumerate(groups):
        sel = sorted((r for r in rows if (r["dtype"], r["threads"]) == (dtype, threads)),
                     key=lambda r: r["n"])
        ns = [r["n"] for r in sel]
        colour = f"C{i}"
        ax.plot(ns, [r["speedup_vs_blas"] for r in sel], "o-", color=colour,
                label=f"{dtype}, {threads} thread(s): vs BLAS")
        vs_numpy = [(r["n"], r["speedup_vs_numpy"]) for r in sel if r.get("speedup_vs_numpy")]
        if vs_numpy:  # numpy is timed up to bench.numpy_max_n only
            ax.plot(*zip(*vs_numpy, strict=True), "s--", color=colour, alpha=0.6,
                    label=f"{dtype}, {threads} thread(s): vs numpy")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N (N x N times N x N)")
    ax.set_ylabel("speedup (median time ratio)")
    ax.set_title("Kernel from the learned scheme vs OpenBLAS gemm")
    if rows:
        ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
