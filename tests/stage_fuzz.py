"""The cases of the stage fuzz campaign (tests/test_fuzz_stages.py): seeded corruptions of every
input file of the learning stages and bad values of every params block.  Each case is
(id, stage, argv, how to damage a copy of a working project)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import yaml

from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.schemes import Scheme, strassen

# stage -> the input files it reads (dvc.yaml deps), in the order the stage loads them
INPUTS = {
    "train": ["data/train.npz", "data/test.npz"],
    "prune": ["models/trained.pt", "data/train.npz", "data/test.npz"],
    "discretize": ["models/pruned.pt", "data/train.npz"],
    "noise_ablate": ["models/algorithm.json", "models/pruned.pt", "data/test.npz"],
    "kappa": ["models/algorithm.json", "models/trained.pt", "models/pruned.pt", "data/train.npz"],
    "verify_expand": ["models/algorithm.json"],
    "figures": ["models/trained.pt", "models/pruned.pt", "models/algorithm.json",
                "metrics/verify.json", "metrics/kappa.json"],
    "summary": ["metrics/discretize.json", "metrics/verify.json", "metrics/bench.json"],
    "discover_summary": ["metrics/discover/2x2x2.json"],
    "anova": ["data/sweep/B16.csv", "data/sweep/B32.csv"],
}
# metrics/bench.json comes from a timing stage that the fuzz does not run: a minimal valid one
BENCH = {"cells": {"64-float64-t1": {"n": 64, "dtype": "float64", "threads": 1,
                                    "speedup_vs_blas": 1.0, "speedup_vs_blas_range": [0.9, 1.1]}}}


def damage_npz(path: Path, change: Callable[[dict], dict]) -> None:
    """Rewrite the npz at path with change(its arrays)."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    with open(path, "wb") as fh:
        np.savez(fh, **change(arrays))


def _with(key: str, fn):
    return lambda d: {**d, key: fn(d[key])}


def _nan(x):
    x = np.array(x, dtype=np.float64)
    x.flat[len(x.flat) // 2] = np.nan
    return x


def _inf(x):
    x = np.array(x, dtype=np.float64)
    x.flat[0] = -np.inf
    return x


NPZ = {  # kind -> change of the arrays {a, b, c}
    "nan": _with("a", _nan),
    "inf": _with("c", _inf),
    "flat": _with("a", np.ravel),
    "cube": _with("b", lambda x: x[:, :, None]),
    "width": _with("a", lambda x: x[:, :3]),
    "string": _with("b", lambda x: np.full(x.shape, "x")),
    "bool": _with("c", lambda x: x > 0),
    "zero_rows": lambda d: {k: v[:0] for k, v in d.items()},
    "row_mismatch": _with("c", lambda x: x[:-1]),
    "missing_key": lambda d: {k: v for k, v in d.items() if k != "c"},
    "format_3x3x3": lambda d: {k: np.ones((len(d["a"]), 9)) for k in "abc"},
    "complex": _with("a", lambda x: x.astype(np.complex128)),
}


def damage_pt(path: Path, change: Callable[[dict], dict]) -> None:
    """Rewrite the checkpoint at path with change(its dict)."""
    ckpt = torch.load(path, weights_only=True)
    torch.save(change(ckpt), path)


def _tnan(t):
    t = t.clone().double()
    t.view(-1)[t.numel() // 3] = float("nan")
    return t


PT = {  # kind -> change of a checkpoint dict
    "nan": _with("U", _tnan),
    "inf": _with("W", lambda t: t * float("inf")),
    "flat": _with("U", lambda t: t.reshape(-1)),
    "string": _with("V", lambda t: "weights"),
    "int": _with("U", lambda t: t.round().long()),
    "missing_key": lambda d: {k: v for k, v in d.items() if k != "W"},
    "slots_mismatch": _with("W", lambda t: t[:, :, :-1]),
    "two_runs": lambda d: {**d, **{k: torch.cat([d[k], d[k]]) for k in "UVW"}},
    "format_3x3x3": lambda d: {**d, "U": torch.zeros(1, 23, 9, dtype=torch.float64),
                               "V": torch.zeros(1, 23, 9, dtype=torch.float64),
                               "W": torch.zeros(1, 9, 23, dtype=torch.float64)},
    "zero_slots": lambda d: {**d, **{k: d[k][:, :0] for k in "UV"}, "W": d["W"][:, :, :0]},
    "not_a_dict": lambda d: [d["U"]],
}
ALL_ZERO = lambda d: {**d, **{k: torch.zeros_like(d[k]) for k in "UVW"}}  # noqa: E731


def _laderman_shape() -> str:
    rng = np.random.default_rng(0)
    U, V = (rng.integers(-1, 2, size=(23, 9)) for _ in "UV")
    return scheme_to_json(Scheme((3, 3, 3), U, V, rng.integers(-1, 2, size=(9, 23))))


JSON = {  # kind -> new text of models/algorithm.json given the old text
    "format_3x3x3": lambda text: _laderman_shape(),
    "empty": lambda text: "",
    "null": lambda text: "null",
    "nan": lambda text: text.replace("1", "NaN", 1),
    "string_entry": lambda text: text.replace("-1", '"x"', 1),
    "huge_number": lambda text: text.replace("-1", "9" * 5000, 1),
}
METRICS_JSON = {
    "empty_object": lambda text: "{}",
    "list": lambda text: "[1, 2]",
    "wrong_type": lambda text: json.dumps({k: 3 for k in json.loads(text)}),
}
CSV = {  # kind -> new text of a sweep table given the old text
    "header_only": lambda text: text.splitlines()[0] + "\n",
    "column_missing": lambda text: "\n".join(",".join(line.split(",")[1:])
                                             for line in text.splitlines()) + "\n",
    "text_in_numbers": lambda text: _cell(text, "nonzeros", "many"),
    "nan_epoch": lambda text: _cell(text, "epoch", "nan"),
    "ragged": lambda text: "\n".join(line + ",1,2" * (i == 2)
                                      for i, line in enumerate(text.splitlines())) + "\n",
    "binary_junk": lambda text: text[:40] + "\x00\xff" + text[40:],
}
BYTES = {  # any file
    "truncated": lambda data: data[: len(data) // 2],
    "random": lambda data: random.Random(len(data)).randbytes(max(len(data), 64)),
    "zero_length": lambda data: b"",
}


def file_cases() -> list[tuple]:
    """(id, stage, argv, damage(root)) for every stage input and every way to damage it."""
    cases = []
    for stage, inputs in INPUTS.items():
        for name in inputs:
            kinds = dict(BYTES)
            if name.endswith(".npz"):
                kinds.update({k: _apply(damage_npz, f) for k, f in NPZ.items()})
            elif name.endswith(".pt"):
                kinds.update({k: _apply(damage_pt, f) for k, f in PT.items()})
            elif name.endswith(".csv"):
                kinds.update({k: _text(f) for k, f in CSV.items()})
            elif name == "models/algorithm.json":  # any format is valid where it is alone
                kinds.update({k: _text(f) for k, f in JSON.items()
                              if k != "format_3x3x3" or len(inputs) > 1})
            else:
                kinds.update({k: _text(f) for k, f in METRICS_JSON.items()})
            for kind, damage in kinds.items():
                if kind in BYTES:
                    damage = _bytes(BYTES[kind])
                cases.append((f"{stage}:{name}:{kind}", stage, [], _at(name, damage)))
    return cases


def _cell(text: str, column: str, value: str) -> str:
    """The CSV text with `column` of its first data row set to value."""
    lines = text.splitlines()
    i = lines[0].split(",").index(column)
    row = lines[1].split(",")
    row[i] = value
    return "\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n"


def _apply(loader, change):
    return lambda path: loader(path, change)


def _text(change):
    return lambda path: path.write_text(change(path.read_text()))


def _bytes(change):
    return lambda path: path.write_bytes(change(path.read_bytes()))


def _at(name: str, damage):
    return lambda root: damage(root / name)


NAN, INF = float("nan"), float("inf")
# (stage, argv, dotted params key, bad value); None as key adds an unknown key to the block
PARAM_CASES = [
    ("data", [], "seed", -1), ("data", [], "seed", "zero"), ("data", [], "task.format", [2, 2]),
    ("data", [], "task.format", [2, 0, 2]), ("data", [], "data.n_train", 0),
    ("data", [], "data.n_train", 10**12), ("data", [], "data.scale", NAN),
    ("data", [], "data.scale", INF), ("data", [], "data.scale", -1.0),
    ("data", [], "data.n_test", "many"), ("data", [], "data", None),
    ("train", [], "train.init_scale", NAN), ("train", [], "train.init_scale", INF),
    ("train", [], "train.epochs", 10**12), ("train", [], "train.slots", 10**8),
    ("train", [], "train.lr", NAN), ("train", [], "train.lr", -0.1),
    ("train", [], "train.batch_size", "32"), ("train", [], "train.weight_decay", INF),
    ("train", [], "train.init", "uniform"), ("train", [], "train", None),
    ("prune", [], "prune.pruned_slots", 0), ("prune", [], "prune.pruned_slots", 10**6),
    ("prune", [], "prune.finetune.epochs", 10**12), ("prune", [], "prune.finetune.lr", NAN),
    ("prune", [], "prune.finetune", None),
    ("discretize", [], "discretize.method", "magic"),
    ("discretize", [], "discretize.sparsify_tol", NAN),
    ("discretize", [], "discretize.fallback", "yes"), ("discretize", [], "anneal.lr", INF),
    ("discretize", [], "anneal.penalty_end", NAN), ("discretize", [], "anneal.l1", -1.0),
    ("discretize", [], "anneal", None),
    ("noise_ablate", [], "noise.sigmas", [NAN]), ("noise_ablate", [], "noise.sigmas", []),
    ("noise_ablate", [], "noise.trials", -1), ("noise_ablate", [], "noise.tolerance", INF),
    ("noise_ablate", [], "noise.level", 2.0), ("noise_ablate", [], "noise", None),
    ("kappa", [], "kappa.abs_tol", NAN), ("kappa", [], "kappa.batch_sizes", ["x"]),
    ("kappa", [], "kappa.max_samples", 1), ("kappa", [], "train.lr", NAN),
    ("kappa", [], "kappa", None),
    ("verify_expand", [], "verify.sizes", [0]), ("verify_expand", [], "verify.trials", NAN),
    ("verify_expand", [], "verify.dtypes", ["float16"]), ("verify_expand", [], "verify", None),
    ("discover", ["2x2x2"], "discover.seeds", -1),
    ("discover", ["2x2x2"], "discover.targets", {"2x2x2": 9}),
    ("discover", ["2x2x2"], "discover.round_flips", NAN),
    ("discover", ["2x2x2"], "discover.workers", 10**6), ("discover", ["2x2x2"], "discover", None),
    ("discover", ["2x2x2"], "discover.symmetric", ["2x2x3"]),
    ("discover", ["2x2x2"], "discover.symmetric", ["four"]),
    ("discover", ["2x2x2"], "discover.symmetric", True),
    ("discover", ["2x2x2"], "discover.census", {"3x3x3": 5}),
    ("discover", ["2x2x2"], "discover.census", {"2x2x2": -1}),
    ("discover", ["2x2x2"], "discover.census", [3]),
    ("discover", ["2x2x2"], "discover.equivalence_checks", NAN),
    ("discover", ["2x2x2"], "discover.packed", {"2x2x2": {"cubes": [[0], [1]], "flips": 10,
                                                          "patience": 0, "plateau": 5}}),
    ("discover", ["2x2x2"], "discover.packed", {"2x2x2": {"cubes": [[0, 0], [1]], "flips": 10,
                                                          "patience": 0, "plateau": 5}}),
    ("discover", ["2x2x2"], "discover.packed", {"2x2x2": {"cubes": [[0, 1]], "flips": NAN,
                                                          "patience": 0, "plateau": 5}}),
    ("discover", ["2x2x2"], "discover.packed", {"2x2x2": {"cubes": [[0, 1]]}}),
    ("discover", ["2x2x2"], "discover.packed", {"2x2x3": {"cubes": [[0, 1]], "flips": 10,
                                                          "patience": 0, "plateau": 5}}),
    ("conditions", [], "conditions.seeds", 0), ("conditions", [], "conditions.lr", NAN),
    ("conditions", [], "conditions.recipes", []), ("conditions", [], "conditions", None),
    ("frontier", [], "frontier.budget", INF), ("frontier", [], "frontier.methods", ["magic"]),
    ("frontier", [], "frontier.seeds", -3), ("frontier", [], "frontier", None),
    ("anneal_grid", [], "anneal_grid.alpha", NAN), ("anneal_grid", [], "anneal_grid.l1s", [INF]),
    ("anneal_grid", [], "anneal_grid", None),
    ("sweep", ["B32"], "sweep.run.init_scale", NAN), ("sweep", ["B32"], "sweep.run.epochs", -5),
    ("sweep", ["B32"], "sweep.workers", "two"), ("sweep", ["B32"], "sweep", None),
    ("frontier", [], "frontier.epochs", 10**12), ("conditions", [], "conditions.slots", 10**9),
    ("anneal_grid", [], "anneal_grid.phase1.epochs", 10**13),
    ("sweep", ["B32"], "sweep.run.slots", 10**9), ("prune", [], "prune.finetune.epochs", 10**13),
    ("anova", [], "anova.alpha", NAN), ("anova", [], "anova.n_bootstrap", 0),
    ("anova", [], "anova", None),
]


def param_cases() -> list[tuple]:
    """(id, stage, argv, damage(root)) for every bad params value of PARAM_CASES."""
    cases = []
    for stage, argv, key, value in PARAM_CASES:
        label = "unknown_key" if value is None else repr(value)[:24]
        cases.append((f"{stage}:params:{key}={label}", stage, argv, _params(key, value)))
    return cases


def _params(key: str, value):
    def damage(root: Path) -> None:
        params = yaml.safe_load((root / "params.yaml").read_text())
        *path, last = key.split(".")
        block = params
        for part in path:
            block = block[part]
        if value is None:  # an unknown key in the block
            block[last] = {**copy.deepcopy(block[last]), "bogus_key": 1}
        else:
            block[last] = value
        (root / "params.yaml").write_text(yaml.safe_dump(params))
    return damage


def strassen_json() -> str:
    """Strassen's scheme as a scheme file (the learning stages' algorithm.json of the base)."""
    return scheme_to_json(strassen())
