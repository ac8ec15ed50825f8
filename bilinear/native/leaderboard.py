"""Scheme leaderboard: kernels compiled from published exact schemes (Strassen's, Winograd's
variant, AlphaTensor's <3,3,3>:23 and <4,4,4>:49) timed side by side against one gemm call;
independent of the learned scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bilinear import seeds
from bilinear.native.accuracy import frobenius, reference, rel_error
from bilinear.native.timing import Harness
from bilinear.native.tune import candidates

if TYPE_CHECKING:
    from bilinear.native.kernel import Kernel



def candidate_levels(fmt: tuple, n: int, leaf_min: int) -> list[int]:
    """Levels >= 1 at which every leaf dimension of an n x n x n product stays >= leaf_min."""
    out, level, dims = [], 0, [n, n, n]
    while True:
        dims = [d // f for d, f in zip(dims, fmt, strict=True)]
        level += 1
        if min(dims) < leaf_min:
            return out
        out.append(level)


def run(kernels: dict[str, Kernel], n: int, dtype: str, leaf_min: int, repeats: int,
        seed: int) -> dict:
    """Time one gemm call and every named kernel at each of its candidate levels in each
    schedule on the same n x n operands at 1 thread (bilinear.native.timing: warm-up round
    measuring errors, rotating rounds); per scheme its fastest levels and schedule (by median),
    its median, min and max, speedup over the gemm call, additions per level and error."""
    rng = np.random.default_rng([seed, seeds.NATIVE_LEADERBOARD, n])
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    first = next(iter(kernels.values()))
    calls = {("blas", 0, None): lambda: first.gemm(A, B, threads=1)}
    for name, k in kernels.items():
        for levels in candidate_levels(k.fmt, n, leaf_min):
            for schedule in candidates(1):
                calls[(name, levels, schedule)] = (
                    lambda k=k, levels=levels, schedule=schedule:
                    k.matmul(A, B, threads=1, levels=levels, schedule=schedule))
    errors = {}
    with threadpool_limits(limits=1, user_api="blas"):
        ref = reference(A, B)
        norm = frobenius(ref)
        bar = tqdm(total=repeats, desc="leaderboard", unit="round")
        stats = Harness().run(calls, repeats, check=lambda key, out: errors.__setitem__(
            key, rel_error(out, ref, norm)), progress=bar.update).summary()
        bar.close()
    med = {key: s["median"] for key, s in stats.items()}
    blas = ("blas", 0, None)
    rows = []
    for name, k in kernels.items():
        tried = [key for key in calls if key[0] == name]
        if not tried:
            continue
        best = min(tried, key=med.get)
        rows.append({"scheme": name, "format": list(k.fmt), "rank": k.config["rank"],
                     "additions_per_level": k.config["additions_per_level"],
                     "levels": best[1], "schedule": best[2], "t": med[best],
                     "t_min": stats[best]["min"], "t_max": stats[best]["max"],
                     "speedup_vs_blas": med[blas] / med[best], "rel_error": errors[best],
                     "by_levels": {f"{key[1]} {key[2]}": med[key] for key in tried}})
    rows.sort(key=lambda r: r["t"])
    return {"n": n, "dtype": dtype, "threads": 1, "repeats": repeats, "t_blas": med[blas],
            "t_blas_min": stats[blas]["min"], "t_blas_max": stats[blas]["max"],
            "rel_error_blas": errors[blas], "rows": rows}
