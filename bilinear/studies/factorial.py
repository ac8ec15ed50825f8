"""Cells of a factorial design over the training recipe and the initialisation, each trained,
pruned and crystallized (round, sparsify, anneal) from the same seeds: the readings of the
paper's "symmetric initialization" (assumption A4) and the odds-ratio ablation run on them.

Initialisations (entries of scale s, every draw from the run's own init stream):
  tied         V = U at the start, U, W ~ N(0, s^2) (the project's default, train.init symmetric);
  independent  U, V, W ~ N(0, s^2) independently: the same distribution, separate draws;
  rademacher   U, V, W independently +-s with equal probability: a discrete sign-symmetric law;
  unequal      U ~ N(0, (2s)^2), V ~ N(0, (s/2)^2), W ~ N(0, s^2): the asymmetric control (the
               same scale of U_s V_s products, different laws for U and V).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from bilinear import params as blocks
from bilinear.algebra.expand import EXPANSION_TOL
from bilinear.learn.data import make_datasets
from bilinear.learn.methods import discretize
from bilinear.learn.methods.anneal import Schedule, anneal_crystals
from bilinear.learn.prune import prune
from bilinear.learn.training import Recipe, init_runs, train_runs
from bilinear.params import Field, ParamError
from bilinear.seeds import MAX_RUNS, derived_seed
from bilinear.studies.sweep import expansion_error

INITS = ("tied", "independent", "rademacher", "unequal")
METHODS = ("round", "sparsify", "anneal")


def initial_weights(fmt: tuple[int, int, int], slots: int, seeds: Sequence[int], init: str,
                    scale: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """U (R,S,nm), V (R,S,mp), W (R,np,S) of one run per seed under an initialisation of INITS."""
    if init in ("tied", "independent"):
        return init_runs(fmt, slots, seeds, "symmetric" if init == "tied" else "gaussian", scale)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    n, m, p = fmt
    parts = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(derived_seed(seed, "init"))
        shapes = ((1, slots, n * m), (1, slots, m * p), (1, n * p, slots))
        if init == "rademacher":
            parts.append([(torch.randint(0, 2, s, generator=gen, dtype=torch.float64) * 2 - 1)
                          * scale for s in shapes])
        else:
            draws = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
            parts.append([draws[0] * 2 * scale, draws[1] * scale / 2, draws[2] * scale])
    return tuple(torch.cat(p, dim=0) for p in zip(*parts, strict=True))


@dataclass(frozen=True)
class Cell:
    """One cell of the design: the recipe's knobs and the initialisation."""

    batch_size: int
    weight_decay: float
    epochs: int
    init: str


@dataclass(frozen=True)
class Setup:
    """What every cell shares: format, pairs, slots, learning rates, init scale, the anneal."""

    fmt: tuple[int, int, int]
    n_train: int
    n_test: int
    slots: int
    pruned_slots: int
    lr: float
    init_scale: float
    anneal_lr: float
    schedule: Schedule
    sparsify_tol: float
    methods: tuple[str, ...]


def run_cell(cell: Cell, seeds: Sequence[int], data_seed: int, setup: Setup) -> dict:
    """Train every seed under the cell at once, prune, crystallize by each method:
    {'exact': {method: [bool per seed]}, 'success': {method: [exact and expanding, the batch-size
    study's success (studies.sweep.expansion_error below EXPANSION_TOL)]}}."""
    train, test = make_datasets(setup.fmt, setup.n_train, setup.n_test, data_seed)
    U, V, W = initial_weights(setup.fmt, setup.slots, seeds, cell.init, setup.init_scale)
    recipe = Recipe(epochs=cell.epochs, batch_size=cell.batch_size, lr=setup.lr,
                    weight_decay=cell.weight_decay)
    result = train_runs(U, V, W, train, test, recipe, list(seeds))
    Up, Vp, Wp, _ = prune(result.U, result.V, result.W, setup.pruned_slots)
    exact, success = {}, {}
    for method in setup.methods:
        if method == "anneal":
            anneal_recipe = Recipe(batch_size=cell.batch_size, lr=setup.anneal_lr,
                                   weight_decay=cell.weight_decay)
            crystals, _ = anneal_crystals(Up, Vp, Wp, train, anneal_recipe, setup.schedule,
                                          list(seeds))
        else:
            crystals = [discretize(setup.fmt, Up[r].numpy(), Vp[r].numpy(), Wp[r].numpy(),
                                   method, setup.sparsify_tol) for r in range(len(seeds))]
        exact[method] = [bool(c.exact) for c in crystals]
        success[method] = [bool(c.exact) and expansion_error(c.scheme) < EXPANSION_TOL
                           for c in crystals]
    return {"exact": exact, "success": success}


COMMON = {  # params shared by the init_symmetry and odds sections
    "seeds": Field(int, low=1, high=MAX_RUNS),
    "n_train": Field(int, low=1),
    "n_test": Field(int, low=1),
    "slots": blocks.SLOTS,
    "pruned_slots": blocks.SLOTS,
    "init_scale": Field(float, low=1e-6),
    "lr": blocks.LR,
    "sparsify_tol": blocks.SPARSIFY_TOL,
    "methods": Field(list, item=str, min_len=1),
    "alpha": blocks.ALPHA,
}


def setup_from(section: str, cfg: dict, fmt, anneal_cfg: dict) -> Setup:
    """The Setup of a validated section (COMMON keys) and params `anneal`; ParamError on a
    method outside METHODS, a repeated one, or more pruned slots than slots."""
    blocks.check_pruned(section, cfg)
    if any(m not in METHODS for m in cfg["methods"]) or len(set(cfg["methods"])) != len(
            cfg["methods"]):
        raise ParamError(f"{section}.methods: distinct items of {list(METHODS)}, got "
                         f"{cfg['methods']}")
    return Setup(tuple(fmt), cfg["n_train"], cfg["n_test"], cfg["slots"], cfg["pruned_slots"],
                 cfg["lr"], cfg["init_scale"], anneal_cfg["lr"],
                 Schedule.from_params(anneal_cfg), cfg["sparsify_tol"], tuple(cfg["methods"]))


def check_inits(name: str, inits) -> list[str]:
    """ParamError unless `inits` are distinct names of INITS."""
    if any(i not in INITS for i in inits) or len(set(inits)) != len(inits):
        raise ParamError(f"{name}: distinct items of {list(INITS)}, got {inits}")
    return list(inits)
