"""Stage `verify_expand`: exact verification, expansion errors per size, equivalence to
Strassen's scheme and the slot-permutation test, for models/algorithm.json.
Reads: params.yaml (seed, verify), models/algorithm.json. Writes: plots/expansion.csv,
metrics/verify.json."""

from __future__ import annotations

import math
import sys

import numpy as np
from tqdm import tqdm

from bilinear import params as blocks
from bilinear.algebra.equivalence import equivalence_witness
from bilinear.algebra.expand import EXPANSION_TOL, PAPER_SIZES, expansion_levels, relative_errors
from bilinear.algebra.formats.project_json import load_scheme
from bilinear.algebra.permutation import permutation_test
from bilinear.algebra.schemes import Scheme, SchemeFormatError, verify
from bilinear.checks import Outputs
from bilinear.params import Field, ParamError, read_sections
from bilinear.seeds import VERIFY_EXPANSION, VERIFY_PAPER, VERIFY_PERMUTATION, stream
from bilinear.stage import stage_main

DTYPES = {"float64": np.float64, "float32": np.float32}

SPECS = {
    "seed": blocks.SEED,
    "verify": {
        "sizes": Field(list, item=int, low=1, high=8192, min_len=1),
        "trials": Field(int, low=1, high=1000),
        "cutoff": Field(int, low=1, high=8192),
        "dtypes": Field(list, item=str, min_len=1),
        "permutation_test": Field(bool),
        "max_permutations": Field(int, low=1, high=1_000_000),
        "permutation_pairs": Field(int, low=1, high=100_000),
    },
}


def read_params() -> tuple[int, dict]:
    """The master seed and the validated `verify` section."""
    params = read_sections(SPECS)
    cfg = params["verify"]
    for i, name in enumerate(cfg["dtypes"]):
        if name not in DTYPES:
            raise ParamError(f"verify.dtypes[{i}]: expected one of {list(DTYPES)}, got {name!r}")
    return params["seed"], cfg


def _sig(x: float) -> float:
    """x to 4 significant digits: the bytes of the metrics do not hang on BLAS summation order."""
    return float(f"{x:.4g}")


def expansion_table(scheme: Scheme, seed: int, cfg: dict) -> tuple[dict, list[dict]]:
    """Relative errors per dtype and size (expansion, and numpy's own product in that dtype on the
    same inputs), as metrics and CSV rows."""
    errors, baseline = {}, {}
    for k, name in enumerate(cfg["dtypes"]):
        dtype = DTYPES[name]
        rng_scheme = stream(seed, VERIFY_EXPANSION, k)
        rng_numpy = stream(seed, VERIFY_EXPANSION, k)  # the same inputs
        errors[name], baseline[name] = {}, {}
        for size in tqdm(cfg["sizes"], desc=f"expansion {name}", file=sys.stderr):
            errors[name].update(relative_errors(scheme, [size], rng_scheme, cfg["trials"],
                                                cfg["cutoff"], dtype))
            if dtype != np.float64:  # the float64 reference is numpy's float64 product itself
                baseline[name].update(relative_errors(None, [size], rng_numpy, cfg["trials"],
                                                      dtype=dtype))
    rows = []
    for size in cfg["sizes"]:
        row = {"size": size, "levels": expansion_levels(scheme.fmt, (size,) * 3, cfg["cutoff"])}
        for name in cfg["dtypes"]:
            row[f"rel_error_{name}"] = _sig(errors[name][size])
            row[f"log10_rel_error_{name}"] = _log10(errors[name][size])
            if size in baseline[name]:
                row[f"numpy_rel_error_{name}"] = _sig(baseline[name][size])
                row[f"log10_numpy_rel_error_{name}"] = _log10(baseline[name][size])
        rows.append(row)
    as_metrics = {name: {str(s): _sig(e) for s, e in errors[name].items()} for name in errors}
    numpy_metrics = {name: {str(s): _sig(e) for s, e in baseline[name].items()}
                     for name in baseline if baseline[name]}
    return {"max_rel_error_by_dtype": as_metrics, "numpy_rel_error_by_dtype": numpy_metrics}, rows


def _log10(x: float) -> float | None:
    return round(math.log10(x), 4) if x > 0 else None


def equivalence_summary(scheme: Scheme, exact: bool) -> dict:
    """Equivalence to Strassen's scheme with its witness (None/null outside <2,2,2>)."""
    if scheme.fmt != (2, 2, 2):
        return {"equivalent_to_strassen": None, "witness": None}
    witness = equivalence_witness(scheme) if exact and scheme.rank == 7 else None
    return {"equivalent_to_strassen": witness is not None, "witness": witness}


@stage_main
def main() -> int:
    """Write metrics/verify.json and plots/expansion.csv."""
    seed, cfg = read_params()
    try:
        scheme = load_scheme("models/algorithm.json")
    except SchemeFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    exact = verify(scheme)
    tables, rows = expansion_table(scheme, seed, cfg)
    primary = cfg["dtypes"][0]
    paper = relative_errors(scheme, PAPER_SIZES, stream(seed, VERIFY_PAPER),
                            cutoff=1, dtype=np.float32)  # the paper's T: recursion to scalars
    metrics = {
        "exact": exact,
        "fallback": bool(scheme.provenance.get("fallback", False)),
        "format": list(scheme.fmt),
        "rank": scheme.rank,
        "dtype": primary,
        "cutoff": cfg["cutoff"],
        "max_rel_error": tables["max_rel_error_by_dtype"][primary],
        **tables,
        "levels": {str(row["size"]): row["levels"] for row in rows},
        "paper_protocol_rel_error": {str(s): _sig(e) for s, e in paper.items()},
        "expansion_success": exact and all(e < EXPANSION_TOL for e in paper.values()),
        "equivalence": equivalence_summary(scheme, exact),
        "permutation_test": None,
    }
    if cfg["permutation_test"]:
        rng = stream(seed, VERIFY_PERMUTATION)
        metrics["permutation_test"] = permutation_test(scheme, rng, cfg["max_permutations"],
                                                       cfg["permutation_pairs"])
    out = Outputs()
    out.add_json("metrics/verify.json", metrics, "the verification's errors")
    out.add_csv("plots/expansion.csv", rows, _columns(cfg["dtypes"], rows))
    out.commit()
    print(_summary(metrics, cfg))
    return 0


def _columns(dtypes: list[str], rows: list[dict]) -> list[str]:
    present = set().union(*rows)
    columns = ["size", "levels"]
    for name in dtypes:
        for stem in ("rel_error", "log10_rel_error", "numpy_rel_error", "log10_numpy_rel_error"):
            if f"{stem}_{name}" in present:
                columns.append(f"{stem}_{name}")
    return columns


def _summary(metrics: dict, cfg: dict) -> str:
    largest = str(max(cfg["sizes"]))
    error = metrics["max_rel_error"][largest]
    text = (f"verify_expand: exact {metrics['exact']}, {'x'.join(map(str, metrics['format']))} "
            f"rank {metrics['rank']}, rel error at {largest}: {error:.3g} ({metrics['dtype']}), "
            f"expansion success {metrics['expansion_success']}, "
            f"equivalent to Strassen {metrics['equivalence']['equivalent_to_strassen']}")
    perm = metrics["permutation_test"]
    if perm:
        text += (f", permutations: coherent {perm['coherent']['exact']}/{perm['tested']} exact, "
                 f"W-only {perm['w_only']['exact']}/{perm['tested']} exact")
    return text


if __name__ == "__main__":
    sys.exit(main())
