"""Every random stream of the project, by name, and how its seeds derive from the master seed
(params `seed`).  No two streams share a seed: tests/test_seeds.py enumerates the seeds each
stream generates for the default params and checks that they are pairwise disjoint.

Kinds of derivation (all kept as they were, so the draws of unchanged streams stay identical):
  * purpose seeds: derived_seed(run_seed, purpose) = SeedSequence([run_seed, PURPOSES[purpose]]),
    one stream per purpose of one run (its pairs, initial weights, mini-batch order);
  * run seeds of a study: run_seeds(study, master, count) = master * RUN_BLOCK + offset + k;
  * tagged entropy: stream(master, OFFSET, ...) = default_rng(SeedSequence([master, OFFSET, ...]))
    with a registered OFFSET (the same draws as default_rng([master, OFFSET, ...]));
  * hashed seeds: study_seed (sweep), attempt_seed (frontier), walk_seed (discover; its rounds'
    walks: pool_walk_seed(walk seed, round, k)).
"""

from __future__ import annotations

import numpy as np

# Purpose seeds of one run (bilinear.learn: data, init_runs, train_runs).
PURPOSES = {"train_data": 1, "test_data": 2, "init": 3, "shuffle": 4, "finetune": 5}

# Run seeds of the studies: master * RUN_BLOCK + offset + k, k < MAX_RUNS (params cap `seeds`).
RUN_BLOCK = 100_000
MAX_RUNS = 1000
RUN_OFFSETS = {
    "conditions": 5000,
    "anneal_grid": 6000,  # was 7000, the frontier's: anneal_grid run k drew frontier run k's
    "frontier": 7000,     # init and shuffle streams
    "init_symmetry": 8000,
    "odds": 9000,
    "finetune": 10000,
}

# Tagged entropy: stream(master, OFFSET, ...) (anova: default_rng(master + ANOVA + ...)).
NOISE = 3000             # stages/noise_ablate: [seed, NOISE, subject index]
ANOVA = 4000             # stages/anova: seed + ANOVA (+ 100 i per checkpoint; + 1: bootstrap)
CURVATURE = 4500         # stages/geometry: seed + CURVATURE (+ 100 i per checkpoint; + 1: AUCs)
VERIFY_EXPANSION = 11    # stages/verify_expand: [seed, VERIFY_EXPANSION, dtype index]
VERIFY_PERMUTATION = 12  # stages/verify_expand: [seed, VERIFY_PERMUTATION]
VERIFY_PAPER = 13        # stages/verify_expand: [seed, VERIFY_PAPER]
NATIVE_BENCH = 7000      # bilinear.native.bench operands: [seed, NATIVE_BENCH, n]
KERNEL_DESIGNS = 7100    # bilinear.native.designs operands: [seed, KERNEL_DESIGNS, n, threads]
NATIVE_TUNE = 7200       # bilinear.native.tune operands: stream(seed, NATIVE_TUNE)
NATIVE_FIRST_CALL = 7300  # bilinear.native.first_call operands: stream(seed, NATIVE_FIRST_CALL, n)
NATIVE_LEADERBOARD = 9000  # bilinear.native.leaderboard operands: [seed, NATIVE_LEADERBOARD, n]

SWEEP_TAG = 0x5EED  # entropy word of the sweep's study seeds; default_rng(SWEEP_TAG) also draws
                    # the fixed matrices of the sweep's expansion check (independent of the seed)
PLOT_JITTER = 0  # report: default_rng(PLOT_JITTER), jitter of the kappa-prediction scatter (fixed)


def derived_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for one purpose (see PURPOSES) of a run seed."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}; expected one of {sorted(PURPOSES)}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    state = np.random.SeedSequence([seed, PURPOSES[purpose]]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def run_seeds(study: str, master: int, count: int) -> list[int]:
    """The run seeds of a study (a key of RUN_OFFSETS): master * RUN_BLOCK + offset + k."""
    if not 0 <= count <= MAX_RUNS:
        raise ValueError(f"{study}: at most {MAX_RUNS} runs, got {count}")
    return [master * RUN_BLOCK + RUN_OFFSETS[study] + k for k in range(count)]


def study_seed(master: int, protocol: str, *keys: int) -> int:
    """A 32-bit seed of the sweep for (protocol, keys...) derived from the master seed."""
    name = int.from_bytes(protocol.encode(), "big")
    return int(np.random.SeedSequence([master, SWEEP_TAG, name, *keys]).generate_state(1)[0])


def attempt_seed(seed: int, attempt: int) -> int:
    """The run seed of a frontier run's anneal attempt (> 0): its untrained start and batches."""
    return int(np.random.SeedSequence([seed, attempt]).generate_state(1)[0])


def walk_seed(seed: int, fmt: tuple[int, int, int], k: int) -> int:
    """The seed of discovery walk k of a format (independent of the target rank)."""
    return int(np.random.SeedSequence([seed, *fmt, k]).generate_state(1)[0])


def pool_walk_seed(run_seed: int, round_: int, k: int) -> int:
    """The 64-bit seed of walk k of round `round_` of a pooled discovery run (whose seed is a
    walk_seed)."""
    state = np.random.SeedSequence([run_seed, round_, k]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def stream(master: int, tag: int, *keys: int) -> np.random.Generator:
    """The generator of a tagged stream: SeedSequence([master, tag, *keys])."""
    return np.random.default_rng(np.random.SeedSequence([master, tag, *keys]))
