"""Stage kappa: gradient-noise covariance of the trained, pruned and discrete checkpoints over the
training set (per-sample gradients by torch.func) -> metrics/kappa.json.
Reads: params.yaml (kappa, train.lr), models/algorithm.json, models/trained.pt, models/pruned.pt,
data/train.npz. Writes: metrics/kappa.json."""

from __future__ import annotations

import sys

import numpy as np
import torch
from tqdm import tqdm

from bilinear import params as blocks
from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.schemes import SchemeFormatError
from bilinear.checks import Outputs, check_pairs, check_same_format, check_weights
from bilinear.io import load_npz, load_torch
from bilinear.params import Field, ParamError, load_params, read_sections, validate
from bilinear.stage import stage_main
from bilinear.studies import kappa

SPEC = {
    "kappa": {
        "batch_sizes": Field(list, item=int, low=1, min_len=1),
        "max_samples": Field(int, low=2, nullable=True),
        "abs_tol": Field(float, low=0.0),
    },
}


def read_params() -> tuple[dict, float]:
    """The kappa section and train.lr, validated."""
    cfg = read_sections(SPEC)["kappa"]
    train = load_params().get("train")
    if not isinstance(train, dict) or "lr" not in train:
        raise ParamError("train.lr: missing parameter")
    return cfg, validate("train.lr", train["lr"], blocks.LR)  # gamma = (lr/B) Tr(Sigma) / d


def load_checkpoints() -> tuple[tuple[int, int, int], dict]:
    """(format, {name: (U (1,S,nm), V (1,S,mp), W (1,np,S))}): float64 tensors of the three
    checkpoints, which must share one format."""
    out, formats = {}, {}
    for name in ("trained", "pruned"):
        ckpt = load_torch(f"models/{name}.pt", keys=("U", "V", "W"))
        formats[name], _ = check_weights(f"models/{name}.pt", ckpt, runs=1)
        out[name] = tuple(ckpt[k].double() for k in "UVW")
    check_same_format("models/pruned.pt", formats["pruned"], formats["trained"],
                      "models/trained.pt")
    scheme = load_scheme("models/algorithm.json")
    check_same_format("models/algorithm.json", scheme.fmt, formats["trained"],
                      "models/trained.pt")
    out["discrete"] = tuple(torch.from_numpy(x)[None] for x in scheme.as_float())
    return scheme.fmt, out


@stage_main
def main() -> int:
    """Compute the gradient-noise statistics of every checkpoint and write metrics/kappa.json."""
    torch.set_num_threads(1)
    cfg, lr = read_params()
    try:
        fmt, checkpoints = load_checkpoints()
        train = load_npz("data/train.npz", keys=("a", "b", "c"))
        check_pairs("data/train.npz", train, fmt, "models/algorithm.json")
        samples = tuple(torch.from_numpy(np.asarray(train[k], dtype=np.float64)) for k in "abc")
    except (OSError, SchemeFormatError, ValueError, KeyError) as exc:
        print(f"error: cannot load the inputs: {exc}", file=sys.stderr)
        return 2
    n = samples[0].shape[0] if cfg["max_samples"] is None else min(cfg["max_samples"],
                                                                    samples[0].shape[0])
    report = {}
    for name, (U, V, W) in tqdm(checkpoints.items(), desc="kappa", file=sys.stderr):
        func = kappa.per_sample_grads_func(U, V, W, *samples, n)
        analytic = kappa.per_sample_grads_analytic(U, V, W, *samples, n)
        stats = kappa.spectrum_stats(func, cfg["abs_tol"])
        entry = kappa.checkpoint_report(stats, 0, lr, cfg["batch_sizes"])
        entry["params"] = int(func.shape[-1])
        entry["slots"] = int(U.shape[1])
        entry["analytic_vs_func_max_abs_diff"] = float((func - analytic).abs().max())
        report[name] = entry
    metrics = {
        "checkpoints": report,
        "samples": n,
        "lr": lr,
        "rank_tolerance": {"rule": "eigenvalue > max(lambda_max * (max(N, d) * eps)^2, abs_tol)",
                           "eps": kappa.EPS, "abs_tol": cfg["abs_tol"]},
        "sigma": "unbiased covariance over training samples of per-sample gradients of "
                 "mean_k (c_hat_k - c_k)^2; a mini-batch of B has covariance Sigma / B",
    }
    out = Outputs()
    out.add_json("metrics/kappa.json", metrics, "the gradient-noise statistics")
    out.commit()
    summary = ", ".join(f"{k}: " + ("degenerate" if e["degenerate"] else f"kappa {e['kappa']:.3g}")
                        + f" rank {e['rank']}" for k, e in report.items())
    print(f"kappa: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
