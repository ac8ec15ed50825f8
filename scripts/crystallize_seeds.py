"""How many seeds crystallize exactly with `round` and with `sparsify`, on the params.yaml recipe.

Every seed s is the whole main pipeline with `seed: s` (its own data, initialisation and
shuffling); all seeds train at once as one batched program.  As a control, the same pruning and
`sparsify` are also applied to each seed's untrained initialisation.  Usage (from the repository
root):

    .venv/bin/python scripts/crystallize_seeds.py --seeds 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bilinear.learn.data import make_datasets  # noqa: E402
from bilinear.learn.methods import METHODS, discretize  # noqa: E402
from bilinear.learn.prune import prune  # noqa: E402
from bilinear.learn.training import Recipe, init_runs, train_runs  # noqa: E402
from bilinear.params import load_params  # noqa: E402


def main() -> int:
    """Train, prune and crystallize seeds 0..N-1; print per-seed results and the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds, 0..N-1")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = load_params(args.params)
    fmt, data, tr = tuple(params["task"]["format"]), params["data"], params["train"]
    seeds = list(range(args.seeds))
    sets = [make_datasets(fmt, data["n_train"], data["n_test"], s, data["scale"]) for s in seeds]
    train = {k: np.stack([s[0][k] for s in sets]) for k in "abc"}
    test = {k: np.stack([s[1][k] for s in sets]) for k in "abc"}
    recipe = Recipe.from_params(tr)
    start = time.perf_counter()
    init = init_runs(fmt, tr["slots"], seeds, tr["init"], tr["init_scale"])
    result = train_runs(*init, train, test, recipe, seeds, progress=True)
    trained = time.perf_counter() - start
    slots, tol = params["prune"]["pruned_slots"], params["discretize"]["sparsify_tol"]
    U, V, W, _ = prune(result.U, result.V, result.W, slots)
    U0, V0, W0, _ = prune(*init, slots)
    counts = dict.fromkeys([*METHODS, "control"], 0)
    for r in tqdm(range(len(seeds)), desc="crystallize"):
        row = []
        for method in METHODS:
            c = discretize(fmt, U[r].numpy(), V[r].numpy(), W[r].numpy(), method, tol)
            counts[method] += c.exact
            row.append(f"{method}: exact={c.exact} margin={c.margin:.3g}")
        control = discretize(fmt, U0[r].numpy(), V0[r].numpy(), W0[r].numpy(), "sparsify", tol)
        counts["control"] += control.exact
        print(f"seed {seeds[r]:3d}  train loss {result.train_loss[-1, r]:.2e}  "
              f"pruned residual {c.input_residual:.2g}  " + "  ".join(row)
              + f"  untrained sparsify: exact={control.exact}")
    print(f"trained {len(seeds)} runs x {recipe.epochs} epochs in {trained:.1f} s (batched)")
    print("exact: " + ", ".join(f"{m} {counts[m]}/{len(seeds)}" for m in METHODS)
          + f"; control (sparsify, untrained initialisation) {counts['control']}/{len(seeds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
