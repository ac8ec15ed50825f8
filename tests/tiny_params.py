"""Tiny params for end-to-end tests: every stage runs in seconds."""

from __future__ import annotations

import copy

TINY = {
    "data": {"n_train": 128, "n_test": 128},
    "train": {"epochs": 30, "batch_size": 32},
    "noise": {"sigmas": [1e-3, 0.1, 0.3], "trials": 10},
    "kappa": {"max_samples": 64},
    "anova": {"n_bootstrap": 50, "cv_folds": 3},
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
