"""Stage noise_ablate: both noise readings on the discrete algorithm, the continuous pruned weights
and the reference code's typo scheme -> metrics/noise.json, plots/noise.csv, plots/noise.png.
Reads: params.yaml (seed, noise), models/algorithm.json, models/pruned.pt, data/test.npz. Writes:
plots/noise.csv, plots/noise.png, metrics/noise.json."""

from __future__ import annotations

import io
import sys

import numpy as np
from tqdm import tqdm

from bilinear import params as blocks
from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.schemes import SchemeFormatError
from bilinear.checks import Outputs, check_pairs, check_weights
from bilinear.io import load_npz, load_torch
from bilinear.params import Field, read_sections
from bilinear.seeds import NOISE, stream
from bilinear.stage import stage_main
from bilinear.studies import noise

SPEC = {
    "seed": blocks.SEED,
    "noise": {
        "sigmas": Field(list, item=float, low=1e-12, min_len=1),
        "trials": Field(int, low=1, high=100_000),
        "tolerance": Field(float, low=0.0),
        "level": Field(float, low=0.0, high=1.0),
    },
}
SUBJECTS = ("discrete", "continuous", "typo")
STYLE = {"discrete": ("o", "-"), "continuous": ("x", "--"), "typo": ("s", ":")}  # marker, line
COLUMNS = ["reading", "subject", "sigma", "trials", "successes", "success_rate", "ci_low",
           "ci_high", "mean_rel_error", "median_rel_error"]


def load_subjects() -> tuple[tuple, dict]:
    """(format, {subject: (U, V, W)}) from models/algorithm.json and models/pruned.pt."""
    scheme = load_scheme("models/algorithm.json")
    pruned = load_torch("models/pruned.pt", keys=("U", "V", "W"))
    check_weights("models/pruned.pt", pruned, scheme.fmt, runs=1, source="models/algorithm.json")
    subjects = {"discrete": scheme.as_float(),
                "continuous": tuple(pruned[k][0].double().numpy() for k in "UVW")}
    if scheme.fmt == (2, 2, 2):
        subjects["typo"] = noise.typo_scheme().as_float()
    return scheme.fmt, subjects


def summarize(results: dict, cfg: dict) -> dict:
    """metrics/noise.json: per reading and subject the baseline, per-sigma entries and threshold."""
    readings, thresholds = {}, {}
    for subject, res in results.items():
        for reading, body in res.items():
            entry = {**body, "threshold": noise.threshold(body["sigma"], cfg["level"])}
            if reading == "unrounded":
                ok = body["baseline"]["success"]  # else the baseline error hides the slope
                slope = noise.error_slope(body["sigma"]) if ok else None
                entry["error_per_sigma"] = slope
                entry["sigma_at_tolerance_linear"] = cfg["tolerance"] / slope if slope else None
            readings.setdefault(reading, {})[subject] = entry
            thresholds.setdefault(reading, {})[subject] = entry["threshold"]
    return {"readings": readings, "thresholds": thresholds, "sigmas": cfg["sigmas"],
            "trials": cfg["trials"], "tolerance": cfg["tolerance"], "level": cfg["level"],
            "discretization": "round and clamp to {-1, 0, 1}, then exact verification"}


def csv_rows(results: dict) -> list[dict]:
    """One row per reading, subject and sigma."""
    rows = []
    for subject, res in results.items():
        for reading, body in res.items():
            for key, e in body["sigma"].items():
                rows.append({"reading": reading, "subject": subject, "sigma": float(key),
                             **{c: e.get(c, "") for c in COLUMNS[3:]}})
    return rows


def figure(rows: list[dict], tolerance: float, trials: int) -> bytes:
    """The PNG bytes of plots/noise.png: success rate of each reading vs sigma (log x) with
    Wilson bands, and the unrounded relative error vs sigma."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    titles = {"round_verify": "(a) perturb, round/clamp, exact verify",
              "unrounded": f"(b) perturb, no rounding: share with rel. error < {tolerance:g}"}
    for ax, reading in zip(axes[:2], titles, strict=True):
        for subject in SUBJECTS:
            sel = [r for r in rows if r["reading"] == reading and r["subject"] == subject]
            if not sel:
                continue
            x = [r["sigma"] for r in sel]
            marker, style = STYLE[subject]
            line, = ax.plot(x, [r["success_rate"] for r in sel], marker=marker, linestyle=style,
                            mfc="none", label=subject)
            ax.fill_between(x, [r["ci_low"] for r in sel], [r["ci_high"] for r in sel],
                            color=line.get_color(), alpha=0.2)
        ax.set(xscale="log", xlabel="noise sigma", ylim=(-0.03, 1.03),
               ylabel=f"success rate ({trials} trials, Wilson 95% band)",
               title=titles[reading])
        ax.legend(fontsize=8)
    ax = axes[2]
    for subject in SUBJECTS:
        sel = [r for r in rows if r["reading"] == "unrounded" and r["subject"] == subject]
        if sel:
            marker, style = STYLE[subject]
            ax.plot([r["sigma"] for r in sel], [r["mean_rel_error"] for r in sel], marker=marker,
                    linestyle=style, mfc="none", label=subject)
    ax.axhline(tolerance, color="gray", linestyle="--", label="tolerance")
    ax.set(xscale="log", yscale="log", xlabel="noise sigma", ylabel="mean relative error",
           title="(b) relative error on held-out products")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


@stage_main
def main() -> int:
    """Run both readings on every subject and write the metrics, CSV and figure."""
    params = read_sections(SPEC)
    seed, cfg = params["seed"], params["noise"]
    try:
        fmt, subjects = load_subjects()
        test = load_npz("data/test.npz", keys=("a", "b", "c"))
        check_pairs("data/test.npz", test, fmt, "models/algorithm.json")
        test = tuple(np.asarray(test[k], dtype=np.float64) for k in "abc")
    except (OSError, SchemeFormatError, ValueError, KeyError) as exc:
        print(f"error: cannot load the inputs: {exc}", file=sys.stderr)
        return 2
    results = {}
    with tqdm(total=len(subjects) * len(cfg["sigmas"]), desc="noise", file=sys.stderr) as bar:
        for name, weights in subjects.items():
            rng = stream(seed, NOISE, SUBJECTS.index(name))
            results[name] = noise.ablate(fmt, weights, cfg["sigmas"], cfg["trials"], rng, test,
                                         cfg["tolerance"], bar)
    metrics = summarize(results, cfg)
    rows = csv_rows(results)
    out = Outputs()
    out.add_json("metrics/noise.json", metrics, "the noise readings")
    out.add_csv("plots/noise.csv", rows, COLUMNS)
    out.add_bytes("plots/noise.png", figure(rows, cfg["tolerance"], cfg["trials"]))
    out.commit()
    t = metrics["thresholds"]
    print(f"noise_ablate: largest sigma with >= {cfg['level']:.0%} success: (a) round_verify "
          f"{t['round_verify']}; (b) unrounded {t['unrounded']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
