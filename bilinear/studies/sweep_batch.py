"""One batch size of the batch-size study: the validated `sweep` settings (read_params) and the
training and crystallization of every run at one batch size (run_batch), shared by the sweep
stages and the study's benchmark, and the partial-results file that lets an interrupted sweep
stage resume its crystallizations (partial_results)."""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from bilinear import params as blocks
from bilinear.io import cache_dir
from bilinear.learn.model import INITS
from bilinear.learn.training import check_memory
from bilinear.params import Field, ParamError, read_sections, validate
from bilinear.search.executor import scheduler_address
from bilinear.search.resume import Partial
from bilinear.studies import anneal_study, sweep
from bilinear.studies.batch_keys import batch_of, is_batch_key

RUN = {
    **blocks.TASK,
    "n_train": Field(int, low=1),
    "n_test": Field(int, low=1),
    "data_scale": Field(float, low=1e-12),
    "slots": blocks.SLOTS,
    "init": Field(str, choices=INITS),
    "init_scale": Field(float, low=1e-6),
    **blocks.recipe("epochs", "lr", "weight_decay"),
    "pruned_slots": blocks.SLOTS,
    "eval_epochs": Field(list, item=int, low=1, min_len=1),
    "sparsify_tol": blocks.SPARSIFY_TOL,
    "kappa_percents": blocks.KAPPA_PERCENTS,
    "kappa_samples": Field(int, low=2),
}
SPECS = {
    "seed": blocks.SEED,
    "sweep": {"batch_sizes": Field(dict), "protocols": Field(dict), "run": RUN,
              "workers": Field(int, low=1, high=64), "scheduler": Field(str, nullable=True)},
    "anneal": blocks.ANNEAL,
}
PROTOCOL = {"seeds": Field(int, low=1), "replicas": Field(int, low=1)}


def read_params(path: str = "params.yaml") -> tuple[int, dict]:
    """(master seed, validated `sweep` section as one flat dict): the `run` settings, `workers`,
    `scheduler` (the param, else the environment's BILINEAR_SCHEDULER, else None),
    `protocols` (each with the sorted batch sizes it trains at) and `batch_sizes` (sorted ints).
    Cross-field errors are ParamErrors too."""
    params = read_sections(SPECS, path)
    section = params["sweep"]
    protocols = {str(name): validate(f"sweep.protocols.{name}", spec, PROTOCOL)
                 for name, spec in section["protocols"].items()}
    if not protocols:
        raise ParamError("sweep.protocols: expected at least one protocol")
    if not section["batch_sizes"]:
        raise ParamError("sweep.batch_sizes: expected at least one batch size")
    for key, names in section["batch_sizes"].items():
        where = f"sweep.batch_sizes.{key}"
        if not is_batch_key(key):
            raise ParamError(f"{where}: keys are B<size> with a positive size, e.g. B32")
        if (not isinstance(names, list) or not names
                or not all(isinstance(n, str) and n in protocols for n in names)
                or len(set(names)) != len(names)):
            raise ParamError(f"{where}: expected a non-empty list of distinct protocols out of "
                             f"{sorted(protocols)}, got {names!r}")
        for name in names:
            protocols[name].setdefault("batch_sizes", []).append(batch_of(key))
    for name, spec in protocols.items():
        if "batch_sizes" not in spec:
            raise ParamError(f"sweep.protocols.{name}: no batch size in sweep.batch_sizes uses it")
        spec["batch_sizes"].sort()
    cfg = {**section["run"], "workers": section["workers"],
           "scheduler": scheduler_address(section["scheduler"]), "protocols": protocols,
           "anneal": params["anneal"],
           "batch_sizes": sorted(batch_of(key) for key in section["batch_sizes"])}
    blocks.check_pruned("sweep.run", cfg)
    if max(cfg["eval_epochs"]) > cfg["epochs"]:
        raise ParamError(f"sweep.run.eval_epochs: {cfg['eval_epochs']} exceed epochs "
                         f"{cfg['epochs']}")
    if cfg["kappa_samples"] > cfg["n_train"]:
        raise ParamError(f"sweep.run.kappa_samples: {cfg['kappa_samples']} exceeds n_train "
                         f"{cfg['n_train']}")
    runs = max(sum(p["seeds"] * p["replicas"] for p in protocols.values()
                   if batch in p["batch_sizes"]) for batch in cfg["batch_sizes"])
    check_memory("sweep.run", tuple(cfg["format"]), cfg["slots"], cfg["epochs"],
                 max(cfg["n_train"], cfg["n_test"]), runs=runs)
    return params["seed"], cfg


LIBRARY = Path(__file__).resolve().parents[1]  # bilinear/
NOT_IMPORTED = ("native", "report")  # packages studies may not import (DESIGN.md)


@functools.cache
def code_hash() -> str:
    """SHA-256 of every library source the study can run: the .py and .c files of bilinear/
    outside the packages it may not import."""
    h = hashlib.sha256()
    for path in sorted(LIBRARY.rglob("*")):
        rel = path.relative_to(LIBRARY)
        if path.suffix in (".py", ".c") and rel.parts[0] not in NOT_IMPORTED:
            h.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def partial_key(batch: int, seed: int, cfg: dict, project: str) -> dict:
    """Everything the crystallization outcomes of one batch size depend on: the batch size, the
    master seed, the validated settings (anneal included; not workers or scheduler, which change
    no result), the library's code (code_hash) and the numeric libraries' versions; also the
    machine (sparsify's outcomes differ between machines of one kind, README) and the `project`
    folder, so that two copies of the project never share a file or remove each other's."""
    return {"batch": batch, "seed": seed,
            "cfg": {k: v for k, v in cfg.items() if k not in ("workers", "scheduler")},
            "code_sha256": code_hash(), "host": platform.node(), "project": project,
            "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                         "torch": torch.__version__}}


def partial_results(batch: int, seed: int, cfg: dict, project: str) -> Partial:
    """The partial-results file (search.resume) of the sweep stage at one batch size in the
    `project` folder, keyed by partial_key, under the user's cache folder (bilinear.io.cache_dir,
    as the kernel's wisdom): outside every DVC output (DVC deletes a stage's outputs before
    running it, which would lose what an interrupted run kept) and outside git.  One file per
    key: another key never reads it."""
    key = partial_key(batch, seed, cfg, project)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return Partial(cache_dir("sweep") / f"B{batch}-{digest}.jsonl", key)


def run_batch(batch: int, seed: int, cfg: dict, progress: bool = True,
              partial: Partial | None = None) -> tuple[list, dict]:
    """(CSV rows, {'train': s, 'anneal': {method: s}, 'crystallize': s, 'runs': n}) of every run
    at batch size `batch`; with `partial`, the crystallizations are kept there as they finish
    and those it holds are not run again (training and anneal are deterministic and rerun)."""
    runs = [r for r in sweep.design(cfg["protocols"], seed) if r.batch_size == batch]
    with threadpool_limits(1):
        start = time.perf_counter()
        trained = sweep.train_batch(runs, cfg, progress)
        trained_at = time.perf_counter()
        annealed, anneal_seconds = anneal_study.anneal_tasks(trained, cfg, cfg["anneal"], progress)
        tasks = sorted(sweep.crystallization_tasks(trained, cfg) + annealed, key=lambda t: t[0])
        annealed_at = time.perf_counter()
        outcomes = sweep.crystallize_all(tasks, cfg["sparsify_tol"], cfg["workers"], progress,
                                         cfg["scheduler"], partial)
        done = time.perf_counter()
    table = sweep.rows(trained, tasks, outcomes, cfg)
    return table, {"train": trained_at - start, "anneal": anneal_seconds,
                   "crystallize": done - annealed_at, "runs": len(runs)}
