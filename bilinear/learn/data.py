"""Gaussian matrix pairs for training and testing."""

from __future__ import annotations

import numpy as np

from bilinear.seeds import derived_seed


def gaussian_pairs(fmt: tuple[int, int, int], count: int, seed: int,
                   scale: float = 1.0) -> dict[str, np.ndarray]:
    """`count` pairs (A, B) with i.i.d. N(0, scale^2) entries and their products C = A @ B.

    Returns float64 arrays a (count, n*m), b (count, m*p), c (count, n*p), row-major vec.
    """
    n, m, p = fmt
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((count, n, m)) * scale
    B = rng.standard_normal((count, m, p)) * scale
    C = A @ B
    return {"a": A.reshape(count, n * m), "b": B.reshape(count, m * p),
            "c": C.reshape(count, n * p)}


def make_datasets(fmt: tuple[int, int, int], n_train: int, n_test: int, seed: int,
                  scale: float = 1.0) -> tuple[dict, dict]:
    """The fixed training set and the held-out test set, each from its own stream of `seed`."""
    train = gaussian_pairs(fmt, n_train, derived_seed(seed, "train_data"), scale)
    test = gaussian_pairs(fmt, n_test, derived_seed(seed, "test_data"), scale)
    return train, test
