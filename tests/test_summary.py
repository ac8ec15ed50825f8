"""The experiment's headline metrics: flat keys, the scheme's facts, the expansion's worst error
and the kernel's speedup at the bench's largest size with its range."""

from __future__ import annotations

from bilinear.report.summary import summarize

DISCRETIZE = {"exact": True, "equivalent_to_strassen": True, "fallback": False,
              "method": "anneal", "rank": 7, "nonzeros": 36, "margin": 0.01,
              "input_residual": 0.4}
VERIFY = {"expansion_success": True, "max_rel_error": {"2": 1e-17, "64": 1e-15, "1024": 2e-14},
          "paper_protocol_rel_error": {"2": 3e-8, "64": 3e-6, "8": 7e-7}}


def _cell(n, dtype, threads, speedup):
    return {"n": n, "dtype": dtype, "threads": threads, "speedup_vs_blas": speedup,
            "speedup_vs_blas_range": [speedup - 0.1, speedup + 0.1]}


def test_summary_is_flat_and_takes_the_largest_size():
    bench = {"cells": {"a": _cell(1024, "float64", 1, 0.9), "b": _cell(8192, "float64", 1, 1.1),
                       "c": _cell(8192, "float32", 2, 1.0)}}
    out = summarize(DISCRETIZE, VERIFY, bench)
    assert all(not isinstance(v, dict | list) for v in out.values())
    assert out["nonzeros"] == 36 and out["exact"] is True and "input_residual" not in out
    assert out["expansion_max_rel_error"] == 2e-14
    assert out["paper_protocol_rel_error"] == 3e-6  # at the largest size, 64
    assert out["speedup_8192_float64_t1"] == 1.1
    assert out["speedup_8192_float32_t2_low"] == 0.9
    assert not any(k.startswith("speedup_1024") for k in out)


def test_summary_of_an_experiment_without_a_kernel():
    bench = {"built": False, "reason": "not an exact scheme", "cells": {}}
    out = summarize({**DISCRETIZE, "exact": False}, VERIFY, bench)
    assert out["exact"] is False and out["kernel_built"] is False
    assert not any(k.startswith("speedup") for k in out)
