"""Tiny params for end-to-end tests: every stage runs in seconds."""

from __future__ import annotations

import copy


class Replace(dict):
    """An override that replaces a whole mapping instead of being merged into it."""


TINY = {'data': {'n_train': 128, 'n_test': 128},
 'train': {'epochs': 30, 'batch_size': 32},
 'prune': {'finetune': {'epochs': 2}},
 'noise': {'sigmas': [0.001, 0.1, 0.3], 'trials': 10},
 'kappa': {'max_samples': 64},
 'discretize': {'method': 'sparsify'},  # tiny training is too short for anneal to crystallize
 'anneal': {'fit_epochs': 3, 'l1_epochs': 3, 'penalty_epochs': 3},
 'anneal_grid': {'seeds': 2, 'n_train': 64, 'phase1': {'epochs': 5}, 'weight_decays': [0.0, 1.0e-4],
                 'l1s': [0.0, 1.0e-3]},
 'conditions': {'seeds': 2,
                'n_test': 64,
                'anneal_controls': [{'name': 'no_penalty', 'condition': 'tiny', 'loss': 'data',
                                     'penalty': False},
                                    {'name': 'tensor_loss', 'condition': 'tiny',
                                     'loss': 'tensor', 'penalty': True}],
                'recipes': [{'name': 'tiny',
                             'batch_size': 16,
                             'weight_decay': 0.0001,
                             'epochs': 5,
                             'n_train': 32},
                            {'name': 'untrained',
                             'batch_size': 16,
                             'weight_decay': 0.0,
                             'epochs': 0,
                             'n_train': 32}]},
 'verify': {'sizes': [2, 5, 16], 'cutoff': 2, 'max_permutations': 120, 'permutation_pairs': 16},
 'sweep': {'batch_sizes': Replace({'B16': ['A'], 'B32': ['A', 'B']}),
           'protocols': {'A': {'seeds': 2, 'replicas': 1}, 'B': {'seeds': 1, 'replicas': 1}},
           'run': {'n_train': 128,
                   'n_test': 128,
                   'epochs': 20,
                   'eval_epochs': [10, 20],
                   'kappa_samples': 64}},
 'sweep_bench': {'ratio_epochs': 2},
 'geometry': {'n_bootstrap': 20, 'cv_folds': 2, 'trajectory_every': 5},
 'init_symmetry': {'seeds': 2, 'epochs': 3, 'n_train': 64, 'n_test': 16},
 'odds': {'seeds': 1, 'epochs': [1, 2], 'batch_sizes': [64, 32], 'n_train': 64, 'n_test': 16},
 'finetune': {'seeds': 1, 'epochs': 2, 'n_train': 64, 'n_test': 16},
 'bench': {'sizes': [64, 128],
           'plan_sizes': [32, 64],
           'plan_repeats': 1,
           'first_call_n': 64,
           'warm_up_max_n': 64,
           'repeats': 1,
           'target_seconds': 0.0,
           'max_repeats': 1,
           'pause_seconds': 0.0},
 'leaderboard': {'n': 64, 'leaf_min': 16, 'repeats': 1},
 'kernel_designs': {'n': 64, 'repeats': 1, 'pause_seconds': 0.0},
 'anova': {'n_bootstrap': 50, 'cv_folds': 3},
 'frontier': {'format': [2, 2, 2], 'seeds': 2, 'slots': 8, 'pruned_slots': 7, 'epochs': 5,
              'n_train': 64, 'n_test': 64, 'budget': 10.0, 'attempts': 2,
              'anneal': {'fit_epochs': 3, 'l1_epochs': 3, 'penalty_epochs': 3}},
 'discover': {'targets': Replace({'2x2x2': 7}), 'seeds': 2, 'walkers': 2, 'pool_size': 4,
              'round_flips': 50000, 'max_rounds': 5, 'plateau': 500, 'samples': 1,
              'sample_every': 500, 'census': Replace({})}}


def apply_overrides(params: dict, overrides: dict) -> dict:
    """Return params with overrides merged in (nested dicts merged, every key must exist; a
    Replace value replaces the mapping instead, so it may bring new keys)."""
    out = copy.deepcopy(params)
    for key, value in overrides.items():
        if key not in out:
            raise KeyError(f"override for unknown params key {key!r}")
        if isinstance(value, Replace):
            out[key] = copy.deepcopy(dict(value))
        elif isinstance(value, dict):
            out[key] = apply_overrides(out[key], value)
        else:
            out[key] = value
    return out
