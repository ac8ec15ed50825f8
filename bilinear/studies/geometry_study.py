"""The batch-size study's runs retrained (studies.replay) and read at matched checkpoints: the
exact Hessian of the training loss (studies.curvature) and the full per-sample gradient
covariance spectrum (studies.gradient_geometry) per run, joined with the sweep's outcomes; and one
run's weights along the paper's recipe and along anneal (the geometry figure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from bilinear.intervals import wilson
from bilinear.learn.crystal import round_clamp
from bilinear.learn.methods.anneal import Schedule, anneal_runs
from bilinear.learn.prune import prune
from bilinear.learn.training import Layout, Recipe, pair_moments, unpack
from bilinear.studies import curvature, gradient_geometry, replay, sweep
from bilinear.studies.prediction import auc, bootstrap_auc, cross_validated_probs
from bilinear.studies.stats import degenerate


@dataclass
class Measured:
    """Per (run, checkpoint) rows, each batch size's median normalised spectrum per checkpoint,
    the agreement with the sweep and the figure run: its trajectory {epoch: theta (D,)}, batch
    size, training pairs and mini-batch seed."""

    rows: pd.DataFrame
    spectra: dict[str, dict[int, np.ndarray]]
    agreement: float
    trajectory: dict[int, np.ndarray]
    figure: dict


def measure(cfg: dict, master: int, percents, reference: int, figure_run: str,
            every: int, sweep_tables: dict[int, pd.DataFrame]) -> Measured:
    """Retrain every run of the study batch size by batch size and measure each checkpoint."""
    design = sweep.design(cfg["protocols"], master)
    rows, spectra, agreement, trajectory, figure = [], {}, 0.0, {}, {}
    for batch in cfg["batch_sizes"]:
        runs = [r for r in design if r.batch_size == batch]
        points = {**replay.equal_epochs(percents, cfg["epochs"]),
                  **replay.equal_steps(percents, cfg["epochs"], cfg["n_train"], batch, reference)}
        ids = [r.run_id for r in runs]
        extra = range(0, cfg["epochs"] + 1, every) if figure_run in ids else ()
        rep, kept = replay.replay_batch(runs, cfg, points, extra)
        if figure_run in ids:
            i = ids.index(figure_run)
            trajectory = {e: th[i] for e, th in kept.items()}
            figure = {"batch": batch, "seed": runs[i].shuffle_seed,
                      "train": {k: rep.train_set[k][i] for k in "abc"}}
        agreement = max(agreement, replay.sweep_agreement(rep, sweep_tables[batch]))
        moments = pair_moments(rep.train_set, len(runs))
        data = [torch.from_numpy(np.ascontiguousarray(rep.train_set[k])) for k in "abc"]
        for name, theta in rep.snapshots.items():
            stats = curvature.curvature_stats(curvature.hessians(theta, moments, rep.layout))
            spec = gradient_geometry.run_spectra(*unpack(torch.from_numpy(theta), rep.layout),
                                                 *data)
            lam = spec["spectrum"] / np.maximum(spec["spectrum"][:, :1], 1e-300)
            spectra.setdefault(name, {})[batch] = np.median(lam, axis=0)
            for i, run in enumerate(runs):
                rows.append({"run_id": run.run_id, "protocol": run.protocol, "batch_size": batch,
                             "checkpoint": name, "epoch": points[name],
                             **{k: float(v[i]) for k, v in stats.items()},
                             "kappa": float(spec["kappa"][i]), "rank": int(spec["rank"][i]),
                             "effective_rank": float(spec["effective_rank"][i])})
    return Measured(pd.DataFrame(rows), spectra, agreement, trajectory, figure)


def outcomes(table: pd.DataFrame, methods) -> pd.DataFrame:
    """Final success (exact and expanding, studies.stats.prepare) per run_id and method."""
    final = table[table["final"] & table["method"].isin(methods)]
    return final.pivot_table(index="run_id", columns="method", values="success",
                             aggfunc="first").reset_index()


def predict(y: np.ndarray, score: np.ndarray, folds: int, seed: int, n_boot: int,
            alpha: float) -> dict:
    """Does a score predict success: cross-validated logistic accuracy (Wilson) beside the
    majority baseline, AUC of the score itself and of the out-of-fold probabilities (bootstrap)."""
    y = np.asarray(y, int)
    minority = int(min(y.sum(), y.size - y.sum()))
    if minority < 2:
        return degenerate("fewer than two runs in one outcome class", n=int(y.size),
                          successes=int(y.sum()))
    k = min(folds, minority)
    probs, problems = cross_validated_probs(y, score[:, None], k, seed)
    correct = int(((probs >= 0.5).astype(int) == y).sum())
    majority = max(y.mean(), 1 - y.mean())
    acc = wilson(correct, y.size, alpha)
    lo, hi = bootstrap_auc(y, score, n_boot, seed + 1, alpha)
    plo, phi = bootstrap_auc(y, probs, n_boot, seed + 1, alpha)
    base = wilson(int(round(majority * y.size)), y.size, alpha)
    return {"degenerate": False, "n": int(y.size), "successes": int(y.sum()), "folds": k,
            "fold_problems": problems, "accuracy": acc["rate"], "accuracy_ci_low": acc["ci_low"],
            "accuracy_ci_high": acc["ci_high"], "baseline": base,
            "better_than_baseline": bool(acc["ci_low"] > base["rate"]),
            "auc_score": auc(y, score), "auc_score_ci_low": lo, "auc_score_ci_high": hi,
            "auc_cv": auc(y, probs), "auc_cv_ci_low": plo, "auc_cv_ci_high": phi}


def anneal_path(theta: np.ndarray, cfg: dict, anneal_cfg: dict,
                figure: dict) -> tuple[dict, np.ndarray]:
    """The figure run's final model (theta (D,)) pruned, then annealed at its batch size on its
    pairs: ({label: flat weights} after pruning, after each phase (replayed as prefixes of the
    schedule) and after the paper's Q; the kept slots)."""
    layout = Layout(tuple(cfg["format"]), cfg["slots"])
    U, V, W = (t.clone() for t in unpack(torch.from_numpy(theta[None].copy()), layout))
    U, V, W, removed = prune(U, V, W, cfg["pruned_slots"])
    full = Schedule.from_params(anneal_cfg)
    recipe = Recipe(batch_size=figure["batch"], lr=anneal_cfg["lr"],
                    weight_decay=cfg["weight_decay"])
    out = {"pruned": torch.cat([U.flatten(), V.flatten(), W.flatten()]).numpy()}
    stages = {"after fit": Schedule(full.fit_epochs, 0, 0, full.l1, full.rescale_every,
                                    full.penalty, full.penalty_start, full.penalty_end),
              "after L1": Schedule(full.fit_epochs, full.l1_epochs, 0, full.l1,
                                   full.rescale_every, full.penalty, full.penalty_start,
                                   full.penalty_end),
              "after penalty": full}
    for label, schedule in stages.items():
        res = anneal_runs(U, V, W, figure["train"], recipe, schedule, [figure["seed"]])
        out[label] = torch.cat([res.U.flatten(), res.V.flatten(), res.W.flatten()]).numpy()
    out["anneal: Q"] = round_clamp(out["after penalty"])
    keep = np.setdiff1d(np.arange(cfg["slots"]), removed[0].numpy())
    return out, keep


def _summary(values: pd.Series) -> dict:
    v = values.to_numpy(float)
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}


def curvature_metrics(measured: Measured, success: pd.DataFrame, methods, folds: int,
                      seed: int, n_boot: int, alpha: float) -> dict:
    """Per checkpoint: Hessian summaries over runs and, per method, whether kappa_eff predicts
    final success (predict; seeds seed + 100 i per checkpoint)."""
    data = measured.rows.merge(success, on="run_id", how="inner")
    out = {}
    for i, (name, group) in enumerate(data.groupby("checkpoint", sort=False)):
        rec = {"epochs": sorted(set(map(int, group["epoch"]))), "runs": int(len(group)),
               **{k: _summary(group[k]) for k in ("kappa_eff", "eig_min", "eig_max",
                                                   "n_negative")}}
        for method in methods:
            known = group[group[method].notna()]
            rec[method] = predict(known[method].to_numpy(int), known["kappa_eff"].to_numpy(float),
                                  folds, seed + 100 * i, n_boot, alpha)
        out[name] = rec
    return out


def geometry_metrics(measured: Measured, success: pd.DataFrame, methods) -> dict:
    """Per checkpoint: per batch size dispersion of log10 kappa and effective rank, the
    stability test (statement 1) and the correlation with each method's success (statement 2)."""
    data = measured.rows.merge(success, on="run_id", how="inner")
    data["log10_kappa"] = np.log10(data["kappa"].where(data["kappa"] > 0))
    out = {}
    for name, group in data.groupby("checkpoint", sort=False):
        by_batch = {int(b): g for b, g in group.groupby("batch_size")}
        logk = {b: g["log10_kappa"].to_numpy(float) for b, g in by_batch.items()}
        out[name] = {
            "epochs": {str(b): int(g["epoch"].iloc[0]) for b, g in by_batch.items()},
            "log10_kappa": gradient_geometry.dispersion(logk),
            "effective_rank": gradient_geometry.dispersion(
                {b: g["effective_rank"].to_numpy(float) for b, g in by_batch.items()}),
            "rank": {str(b): int(g["rank"].median()) for b, g in by_batch.items()},
            "stability": gradient_geometry.stability_test(logk),
            **{f"correlation_{m}": gradient_geometry.success_correlation(
                group.loc[group[m].notna(), "log10_kappa"].to_numpy(float),
                group.loc[group[m].notna(), m].to_numpy(float) > 0.5) for m in methods}}
    return out


def kept_coordinates(theta: np.ndarray, layout: Layout, keep: np.ndarray) -> np.ndarray:
    """Flat U, V, W of the slots `keep` of thetas (T, D), in the order prune leaves them."""
    U, V, W = unpack(np.asarray(theta), layout)
    return np.concatenate([U[:, keep].reshape(len(theta), -1), V[:, keep].reshape(len(theta), -1),
                           W[:, :, keep].reshape(len(theta), -1)], axis=1)
