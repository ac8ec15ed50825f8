"""Figures of the main run: valid, deterministic PNGs, including degenerate inputs."""

from __future__ import annotations

import numpy as np

from bilinear.report import figures

PNG = b"\x89PNG\r\n\x1a\n"


def test_expansion_figure():
    png = figures.expansion_figure([2, 4, 8], {"float64": [1e-16, 2e-16, 0.0]}, {2: 1e-7})
    assert png.startswith(PNG)
    assert png == figures.expansion_figure([2, 4, 8], {"float64": [1e-16, 2e-16, 0.0]}, {2: 1e-7})


def test_kappa_figure_marks_degenerate_checkpoints():
    checkpoints = {"trained": {"kappa": 4e5, "trace_over_d": 1e-7, "degenerate": False},
                   "discrete": {"kappa": None, "trace_over_d": 0.0, "degenerate": True}}
    assert figures.kappa_figure(checkpoints).startswith(PNG)


def test_coefficient_figure_one_row_per_snapshot():
    rng = np.random.default_rng(0)
    snaps = {"epoch 1": rng.standard_normal(96), "final": np.rint(rng.standard_normal(84))}
    assert figures.coefficient_figure(snaps).startswith(PNG)
    assert figures.coefficient_figure({"only": np.zeros(3)}).startswith(PNG)
