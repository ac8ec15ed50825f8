"""Tiny params for end-to-end tests: every stage runs in seconds."""

from __future__ import annotations

import copy

TINY = {
    "data": {"n_train": 128, "n_test": 128},
    "train": {"epochs": 30, "batch_size": 32},
    "native": {"leaf_min": {"float64_1": 16, "float64_2": 16, "float32_1": 16, "float32_2": 16}},
    "bench": {"sizes": [64, 128], "repeats": 1, "target_seconds": 0.0, "max_repeats": 1,
              "pause_seconds": 0.0},
}


def apply_overrides(params: dict, overrides: dict) -> dict:
    """Return params with overrides merged in (nested dicts merged; every key must exist)."""
    out = copy.deepcopy(params)
    for key, value in overrides.items():
        if key not in out:
            raise KeyError(f"override for unknown params key {key!r}")
        if isinstance(value, dict):
            out[key] = apply_overrides(out[key], value)
        else:
            out[key] = value
    return out
