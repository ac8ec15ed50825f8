"""Reading and validating params.yaml: unknown keys, wrong types, non-finite floats and
out-of-range values stop a stage with one clear line naming the key."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml


class ParamError(ValueError):
    """A params.yaml value that is missing, unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Field:
    """Specification of one parameter: its type, optional bounds, choices or list item type."""

    kind: type | tuple
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    item: type | tuple | None = None
    min_len: int = 0
    max_len: int | None = None
    nullable: bool = False

    def check(self, name: str, value):
        """Return value if it satisfies the spec, else raise ParamError naming the key."""
        if value is None and self.nullable:
            return None
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if float in kinds and isinstance(value, int | str) and not isinstance(value, bool):
            value = _as_float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise ParamError(f"{name}: expected {_names(kinds)}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamError(f"{name}: expected a finite number, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ParamError(f"{name}: expected one of {list(self.choices)}, got {value!r}")
        if isinstance(value, list):
            if len(value) < self.min_len:
                raise ParamError(f"{name}: expected at least {self.min_len} item(s), got {value!r}")
            if self.max_len is not None and len(value) > self.max_len:
                raise ParamError(f"{name}: expected at most {self.max_len} item(s), got {value!r}")
            item = Field(self.item, self.low, self.high) if self.item else None
            return [item.check(f"{name}[{i}]", v) for i, v in enumerate(value)] if item else value
        if self.low is not None and value < self.low or self.high is not None and value > self.high:
            bounds = f"[{self.low}, {self.high}]"
            raise ParamError(f"{name}: expected a value in {bounds}, got {value!r}")
        return value


def _as_float(value):
    """value as a float if it is an int or a string spelling a finite float, else unchanged."""
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def _names(kinds) -> str:
    return " or ".join(k.__name__ for k in kinds)


def load_params(path: str | Path = "params.yaml") -> dict:
    """Parse params.yaml into a dict."""
    path = Path(path)
    if not path.exists():
        raise ParamError(f"{path}: file not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ParamError(f"{path}: expected a mapping at top level")
    return doc


def validate(section: str, values, spec: dict) -> dict:
    """Check one params section against a {key: Field} spec; returns the validated dict.

    Every key in spec is required; any key not in spec is an error.
    """
    if isinstance(spec, Field):
        return spec.check(section, values)
    if not isinstance(values, dict):
        raise ParamError(f"{section}: expected a mapping, got {values!r}")
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise ParamError(f"{section}.{unknown[0]}: unknown parameter")
    missing = sorted(set(spec) - set(values))
    if missing:
        raise ParamError(f"{section}.{missing[0]}: missing parameter")
    return {k: validate(f"{section}.{k}", values[k], f) for k, f in spec.items()}


def read_sections(specs: dict, path: str | Path = "params.yaml") -> dict:
    """Load params.yaml and validate the named top-level sections {name: spec}."""
    doc = load_params(path)
    out = {}
    for name, spec in specs.items():
        if name not in doc:
            raise ParamError(f"{name}: missing parameter section")
        out[name] = validate(name, doc[name], spec)
    return out


# Blocks shared by several sections: each concept is declared (and named) once here.
SEED = Field(int, low=0)  # the master seed: every random stream derives from it (bilinear.seeds)
TASK = {"format": Field(list, item=int, low=1, min_len=3, max_len=3)}  # <n, m, p>
SLOTS = Field(int, low=1)  # trained slots, and `pruned_slots` kept before crystallization
LR = Field(float, low=1e-12, high=10.0)
WEIGHT_DECAY = Field(float, low=0.0, high=1.0)
RECIPE = {"epochs": Field(int, low=1), "batch_size": Field(int, low=1), "lr": LR,
          "weight_decay": WEIGHT_DECAY}  # AdamW training recipe (bilinear.learn.training.Recipe)
SPARSIFY_TOL = Field(float, low=1e-30, high=1e-6)  # sparsify: squared residual bound
ALPHA = Field(float, low=1e-6, high=0.5)  # 1 - confidence of intervals
KAPPA_PERCENTS = Field(list, item=int, low=1, high=100, min_len=1)  # sweep writes, anova reads
ANNEAL_PENALTIES = ("sin2", "nearest")
ANNEAL_LOSSES = ("data", "tensor")
ANNEAL = {  # params `anneal` (and frontier.anneal without steps_reference_batch)
    "lr": LR,
    "fit_epochs": Field(int, low=0),
    "l1_epochs": Field(int, low=0),
    "penalty_epochs": Field(int, low=0),
    "l1": Field(float, low=0.0, high=1.0),
    "rescale_every": Field(int, low=0),
    "penalty": Field(str, choices=ANNEAL_PENALTIES),
    "penalty_start": Field(float, low=1e-12, high=10.0),
    "penalty_end": Field(float, low=0.0, high=10.0),
    "steps_reference_batch": Field(int, low=1),
}


def recipe(*keys: str, **fields: Field) -> dict:
    """The RECIPE fields named by keys (all of them if none), with fields added or replaced."""
    return {**{k: RECIPE[k] for k in keys or RECIPE}, **fields}


def check_pruned(section: str, cfg: dict) -> None:
    """ParamError unless 1 <= cfg['pruned_slots'] <= cfg['slots']."""
    if cfg["pruned_slots"] > cfg["slots"]:
        raise ParamError(f"{section}.pruned_slots: {cfg['pruned_slots']} exceeds {section}.slots "
                         f"{cfg['slots']}")
