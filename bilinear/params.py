"""Reading and validating params.yaml: unknown keys, wrong types and out-of-range values stop a
stage with one clear line naming the key."""

from __future__ import annotations

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
    nullable: bool = False

    def check(self, name: str, value):
        """Return value if it satisfies the spec, else raise ParamError naming the key."""
        if value is None and self.nullable:
            return None
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise ParamError(f"{name}: expected {_names(kinds)}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ParamError(f"{name}: expected one of {list(self.choices)}, got {value!r}")
        if isinstance(value, list):
            if len(value) < self.min_len:
                raise ParamError(f"{name}: expected at least {self.min_len} item(s), got {value!r}")
            item = Field(self.item, self.low, self.high) if self.item else None
            return [item.check(f"{name}[{i}]", v) for i, v in enumerate(value)] if item else value
        if self.low is not None and value < self.low or self.high is not None and value > self.high:
            bounds = f"[{self.low}, {self.high}]"
            raise ParamError(f"{name}: expected a value in {bounds}, got {value!r}")
        return value


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
