"""The few numbers an experiment is compared by (metrics/summary.json, the pipeline's DVC
metrics): is the learned scheme exact and Strassen's, how sparse, how close to the lattice, how
well it expands, and the kernel's speedup at the bench's largest size with its spread (absent
where no kernel was built: a learned scheme that is not exact).  Flat keys,
so `dvc exp show` and `dvc metrics diff` print one short column each."""

from __future__ import annotations

SCHEME_KEYS = ("exact", "equivalent_to_strassen", "fallback", "method", "rank", "nonzeros",
               "margin")


def summarize(discretize: dict, verify: dict, bench: dict) -> dict:
    """Flat headline metrics from metrics/discretize.json, metrics/verify.json and
    metrics/bench.json."""
    out = {key: discretize[key] for key in SCHEME_KEYS}
    errors = verify.get("max_rel_error") or {}
    paper = verify.get("paper_protocol_rel_error") or {}
    out["expansion_success"] = verify.get("expansion_success")
    out["expansion_max_rel_error"] = max(errors.values()) if errors else None
    out["paper_protocol_rel_error"] = paper[max(paper, key=int)] if paper else None
    out["kernel_built"] = bench.get("built", True)
    cells = list(bench["cells"].values())
    big = max((c["n"] for c in cells), default=None)
    for c in sorted((c for c in cells if c["n"] == big), key=lambda c: (c["dtype"], c["threads"])):
        name = f"speedup_{big}_{c['dtype']}_t{c['threads']}"
        low, high = c["speedup_vs_blas_range"]
        out |= {name: c["speedup_vs_blas"], f"{name}_low": low, f"{name}_high": high}
    return out
