"""Stage `figures`: PNG figures of the main run that no other stage draws (expansion error by size,
kappa per checkpoint, weight crystallization).
Reads: metrics/verify.json, metrics/kappa.json, models/trained.pt, models/pruned.pt,
models/algorithm.json. Writes: plots/expansion.png, plots/kappa.png, plots/crystallization.png."""

from __future__ import annotations

import sys

import numpy as np

from bilinear.algebra.formats.project_json import load_scheme
from bilinear.checks import InputError, Outputs, check_entries, check_same_format, check_weights
from bilinear.io import load_torch, read_json
from bilinear.report.figures import coefficient_figure, expansion_figure, kappa_figure
from bilinear.stage import stage_main

# The paper's Table 1 (relative error of its expansion, float32), drawn for comparison only.
PAPER_TABLE1 = {2: 1.21e-07, 4: 9.37e-08, 8: 2.99e-07, 16: 5.89e-07, 32: 8.66e-07, 64: 1.69e-06}


def _flat(ckpt: dict) -> np.ndarray:
    return np.concatenate([ckpt[k][0].double().numpy().ravel() for k in "UVW"])


def crystallization_snapshots() -> dict[str, np.ndarray]:
    """Coefficients at each saved training epoch, after pruning, and of the final scheme."""
    trained = load_torch("models/trained.pt", keys=("U", "V", "W", "recipe"))
    pruned = load_torch("models/pruned.pt", keys=("U", "V", "W"))
    fmt, _ = check_weights("models/trained.pt", trained, runs=1)
    check_entries("models/trained.pt[recipe]", trained["recipe"], {"epochs": int})
    check_same_format("models/pruned.pt", check_weights("models/pruned.pt", pruned, runs=1)[0],
                      fmt, "models/trained.pt")
    snapshots = trained.get("snapshots", {})
    if not isinstance(snapshots, dict):
        raise InputError("models/trained.pt: snapshots is not a mapping of epoch to weights")
    snaps = {f"epoch {e}": np.asarray(v, dtype=np.float64).ravel()
             for e, v in sorted(snapshots.items())}
    snaps[f"trained, epoch {trained['recipe']['epochs']} ({trained['U'].shape[1]} slots)"] = _flat(
        trained)
    snaps[f"pruned ({pruned['U'].shape[1]} slots)"] = _flat(pruned)
    scheme = load_scheme("models/algorithm.json")
    check_same_format("models/algorithm.json", scheme.fmt, fmt, "models/trained.pt")
    U, V, W = scheme.as_float()
    snaps[f"crystallized ({scheme.provenance.get('method', '?')})"] = np.concatenate(
        [np.ravel(U), np.ravel(V), np.ravel(W)])
    return snaps


@stage_main
def main() -> int:
    """Write plots/expansion.png, plots/kappa.png and plots/crystallization.png."""
    metrics = {}
    for name in ("verify", "kappa"):
        try:
            metrics[name] = read_json(f"metrics/{name}.json")
        except (OSError, ValueError) as exc:
            raise InputError(f"metrics/{name}.json: cannot be read ({exc})") from None
    snaps = crystallization_snapshots()
    try:
        f64 = metrics["verify"]["max_rel_error_by_dtype"]["float64"]
        f32 = metrics["verify"]["max_rel_error_by_dtype"].get("float32", {})
        sizes = sorted(int(k) for k in f64)
        series = {"float64": [float(f64[str(s)]) for s in sizes]}
        if f32:
            series["float32"] = [float(f32[str(s)]) for s in sizes]
        checkpoints = dict(metrics["kappa"]["checkpoints"])
        out = Outputs()
        out.add_bytes("plots/expansion.png", expansion_figure(sizes, series, PAPER_TABLE1))
        out.add_bytes("plots/kappa.png", kappa_figure(checkpoints))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"metrics/verify.json or metrics/kappa.json: unexpected content "
                         f"({type(exc).__name__}: {exc})") from None
    out.add_bytes("plots/crystallization.png", coefficient_figure(snaps))
    out.commit()
    print(f"figures: expansion ({len(sizes)} sizes), kappa ({len(checkpoints)} checkpoints), "
          f"crystallization ({len(snaps)} snapshots)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
