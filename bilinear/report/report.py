"""Claims vs evidence: each quantitative claim of the paper beside our measurement and a verdict.

Every measured value is read from a metrics file of the pipeline; nothing here is typed in but the
paper's own figures (the claims under test).  A verdict is one of VERDICTS and is decided by a
stated rule, so a different run can change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bilinear.algebra.expand import EXPANSION_TOL

VERDICTS = ("reproduced", "not reproduced", "artifact explained", "not testable")


@dataclass(frozen=True)
class Claim:
    """One row of the report: the claim, the paper's value, ours, the verdict and its source."""

    claim: str
    paper: str
    measured: str
    verdict: str
    source: str


def _sci(x: float) -> str:
    """A tolerance as typed in params.yaml and the paper: 1e-5, not 1e-05."""
    return f"{x:g}".replace("e-0", "e-")


def _g(x, digits: int = 3) -> str:
    """Compact number formatting; None -> 'n/a'."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}g}"


def _rate(entry: dict | None) -> str:
    """'r% (k/n, 95% CI [lo, hi])' for a Wilson rate entry ('n/a' for none or n = 0)."""
    if not entry or not entry["n"]:
        return "n/a"
    return (f"{100 * entry['rate']:.1f}% ({entry['successes']}/{entry['n']}, 95% CI "
            f"[{100 * entry['ci_low']:.1f}, {100 * entry['ci_high']:.1f}]%)")


def success_rate(m: dict) -> Claim:
    """Claim: 68% of 195 runs crystallize (prune + round)."""
    overall = m["anova"]["round"]["overall"]
    inside = overall["ci_low"] <= 0.68 <= overall["ci_high"]
    spa = m["anova"]["sparsify"]
    exact = m["anova"]["round"].get("exact_only")
    measured = (f"{_rate(overall)} exact and expanding to 64x64 (float32, error < "
                f"{_sci(EXPANSION_TOL)}); exact "
                f"alone {_rate(exact)}. With sparsify: {_rate(spa['overall'])}; exact alone "
                f"{_rate(spa.get('exact_only'))}")
    return Claim("Success rate of the recipe (prune + round), 195 runs", "68% (133/195)", measured,
                 "reproduced" if inside else "not reproduced", "metrics/anova.json")


def _anova_text(a: dict) -> str:
    if a.get("degenerate"):
        return f"degenerate ({a.get('reason', 'no variation')})"
    return f"F{tuple(a['df'])}={_g(a['F'])}, p={_g(a['p'])}, eta^2={_g(a['eta_sq'])}"


def batch_effect(m: dict) -> Claim:
    """Claim: batch size affects crystallization, F=15.34, p<1e-4, eta^2=0.244 (N=195).

    Judged on the paper's method (round): the success ANOVA, or the margin ANOVA (protocol A) when
    success is constant; not testable only when both are degenerate."""
    rnd, spa = m["anova"]["round"], m["anova"]["sparsify"]
    tests = [a for a in (rnd["two_way"], rnd["protocol_a_margin"]) if not a.get("degenerate")]
    if tests:
        verdict = "reproduced" if tests[0]["p"] < 1e-4 else "not reproduced"
    else:
        verdict = "not testable"
    measured = (f"round: success ~ B + protocol {_anova_text(rnd['two_way'])}; margin ~ B "
                f"(protocol A) {_anova_text(rnd['protocol_a_margin'])}, with seed as a block "
                f"{_anova_text(rnd['protocol_a_margin_paired'])}. sparsify: success ~ B + "
                f"protocol {_anova_text(spa['two_way'])}")
    return Claim("Batch-size effect (ANOVA)", "F=15.34, p<0.0001, eta^2=0.244", measured,
                 verdict, "metrics/anova.json")


def batch_range(m: dict) -> Claim:
    """Claim: the optimal batch range is [24, 128].

    Reproduced when a method shows a significant batch effect (p < 0.05) and its best range lies
    inside [24, 128]; not reproduced when some method can be judged and none does."""
    parts, judged, found = [], False, False
    for method in ("round", "sparsify"):
        best, two = m["anova"][method]["best_range"], m["anova"][method]["two_way"]
        if best.get("degenerate"):
            parts.append(f"{method}: no best range ({best.get('reason', 'degenerate')})")
            continue
        judged = True
        significant = not two.get("degenerate") and (two.get("p") or 1.0) < 0.05
        found = found or (significant and best["low"] >= 24 and best["high"] <= 128)
        parts.append(f"{method}: best B={best['best']}, sizes not worse [{best['low']}, "
                     f"{best['high']}], batch effect p={_g(two.get('p'))}")
    verdict = "reproduced" if found else ("not reproduced" if judged else "not testable")
    return Claim("Optimal batch range", "[24, 128]", "; ".join(parts), verdict,
                 "metrics/anova.json")


def _cond(m: dict, name: str) -> dict | None:
    return m["conditions"]["conditions"].get(name)


def recipe_needs(m: dict) -> Claim:
    """Claim: 1000+ epochs and weight decay >= 1e-4 are needed."""
    base, nowd, short = (_cond(m, n) for n in ("paper_B32", "no_weight_decay", "short_100_epochs"))
    if not (base and nowd and short):
        return Claim("1000+ epochs and weight decay >= 1e-4 needed", "needed", "conditions "
                     "paper_B32, no_weight_decay, short_100_epochs not all run", "not testable",
                     "metrics/conditions.json")

    def counts(c: dict) -> str:
        return f"round {c['exact_round']}/{c['runs']}, sparsify {c['exact_sparsify']}/{c['runs']}"

    measured = (f"paper recipe (B=32, wd 1e-4, {base['epochs']} epochs): {counts(base)}; "
                f"wd 0: {counts(nowd)}; {short['epochs']} epochs: {counts(short)}")
    needed = base["exact_round"] > max(nowd["exact_round"], short["exact_round"])
    return Claim("1000+ epochs and weight decay >= 1e-4 needed", "needed for success", measured,
                 "reproduced" if needed else "not reproduced", "metrics/conditions.json")


def phase1_alone(m: dict) -> Claim:
    """Claim: Phase 1 alone (no pruning) gives 0% success."""
    conds = m["conditions"]["conditions"]
    k = sum(c["exact_phase1_round"] for c in conds.values())
    n = sum(c["runs"] for c in conds.values())
    pruned = sum(c["exact_round"] for c in conds.values())
    measured = (f"{k}/{n} unpruned 8-slot runs round to a correct scheme (all conditions); "
                f"pruned then rounded: {pruned}/{n}")
    return Claim("Phase 1 alone gives 0%", "0%", measured,
                 "reproduced" if k == 0 else "not reproduced", "metrics/conditions.json")


def prune_round(m: dict) -> Claim:
    """Claim: prune + round yields Strassen's algorithm."""
    base = _cond(m, "paper_B32")
    disc = m["discretize"]
    measured = (f"paper recipe: {base['exact_round']}/{base['runs']} exact after rounding "
                f"(median margin {_g(base['median_margin_round'])}); main run "
                f"(method {disc['method']}): exact {_g(disc['exact'])}, equivalent to Strassen "
                f"{_g(disc['equivalent_to_strassen'])}") if base else "condition paper_B32 not run"
    verdict = "reproduced" if base and base["exact_round"] > 0 else "not reproduced"
    return Claim("Prune + round yields Strassen", "yes (68% of runs)", measured, verdict,
                 "metrics/conditions.json, metrics/discretize.json")


def noise_claim(m: dict) -> Claim:
    """Claim: 0% success at every sigma >= 0.001 (extremely narrow basin)."""
    rv = m["noise"]["readings"]["round_verify"]
    disc, typo = rv["discrete"], rv.get("typo")
    at = disc["sigma"].get("0.001")
    typo_base = typo["baseline"]["success"] if typo else None
    unrounded = m["noise"]["readings"]["unrounded"]["discrete"]["threshold"]
    measured = (f"(a) perturb, round, verify our discrete scheme: {100 * at['success_rate']:.0f}% "
                f"at sigma 0.001, >= 99% up to sigma {_g(disc['threshold'])}; the reference "
                f"code's typo scheme (U[0] = [1,0,0,0]) fails even at sigma 0 (baseline success "
                f"{_g(typo_base)}). (b) perturb without rounding: relative error < "
                f"{_sci(m['noise']['tolerance'])} up to "
                f"sigma {_g(unrounded)}") if at else "sigma 0.001 not in the grid"
    explained = at is not None and at["success_rate"] >= 0.99 and typo_base is False
    return Claim("Noise fragility", "0% success for sigma >= 0.001", measured,
                 "artifact explained" if explained else
                 ("reproduced" if at and at["success_rate"] == 0 else "not reproduced"),
                 "metrics/noise.json")


def kappa_claim(m: dict) -> Claim:
    """Claim: kappa ~ 1 for crystallized models, >> 1 otherwise."""
    ck = m["kappa"]["checkpoints"]
    disc = ck["discrete"]
    others = "; ".join(f"{name}: kappa {_g(c['kappa'])} (rank {c['rank']})"
                       for name, c in ck.items() if name != "discrete")
    measured = (f"discrete: degenerate {_g(disc['degenerate'])} (every per-sample gradient is "
                f"0, Tr(Sigma)/d = {_g(disc['trace_over_d'])}), kappa undefined; {others}")
    return Claim("kappa ~ 1 for crystallized models", "kappa = 1.00 discretized, 2e3-1e6 not",
                 measured, "artifact explained" if disc["degenerate"] else "not reproduced",
                 "metrics/kappa.json")


def kappa_prediction(m: dict) -> Claim:
    """Claim: early-epoch kappa predicts final success at 58.3% (chance).

    Judged on the first method whose outcome has both classes (round, else sparsify)."""
    for method in ("round", "sparsify"):
        kp = m["anova"][method]["kappa_prediction"]
        head = kp.get(kp.get("headline", ""), {})
        if head and not head.get("degenerate"):
            break
    else:
        reason = head.get("reason", "no early kappa") if head else "no early kappa"
        return Claim("Early kappa predicts success", "58.3% accuracy (chance)",
                     f"degenerate for every method: {reason}", "not testable",
                     "metrics/anova.json")
    base = head["baseline"]
    chance = head["accuracy_ci_low"] <= base["rate"]
    measured = (f"{method}, {kp['headline']}: accuracy {100 * head['accuracy']:.1f}% (95% CI "
                f"[{100 * head['accuracy_ci_low']:.1f}, {100 * head['accuracy_ci_high']:.1f}]), "
                f"AUC {_g(head['auc'])} [{_g(head['auc_ci_low'])}, {_g(head['auc_ci_high'])}], "
                f"majority baseline {100 * base['rate']:.1f}%")
    return Claim("Early kappa predicts success", "58.3% accuracy (chance)", measured,
                 "reproduced" if chance else "not reproduced", "metrics/anova.json")


def expansion(m: dict) -> Claim:
    """Claim: zero-shot expansion to 64x64 with errors 1.2e-7..1.7e-6 (Table 1), <= 2.9e-4 (G.2)."""
    v = m["verify"]
    f32 = v["max_rel_error_by_dtype"].get("float32", {})
    f64 = v["max_rel_error_by_dtype"].get("float64", {})
    proto = v.get("paper_protocol_rel_error", {})
    measured = (f"exact scheme: {_g(v['exact'])}; 64x64 error float32 {_g(f32.get('64'))}, "
                f"float64 {_g(f64.get('64'))}, paper protocol {_g(proto.get('64'))}; largest "
                f"size {max(f64, key=int) if f64 else 'n/a'}: float64 "
                f"{_g(f64[max(f64, key=int)]) if f64 else 'n/a'}")
    return Claim("Zero-shot expansion 2x2 -> 64x64", "1.21e-7 .. 1.69e-6 (Table 1), 2.94e-4 (G.2)",
                 measured, "reproduced" if v["exact"] and v.get("expansion_success") else
                 "not reproduced", "metrics/verify.json")


def permutation(m: dict) -> Claim:
    """Claim: of 5040 slot orders only the identity works (mean error 0.74)."""
    pt = m["verify"]["permutation_test"]
    co, wo = pt["coherent"], pt["w_only"]
    measured = (f"permuting slots coherently in U, V, W: {co['exact']}/{pt['tested']} exact; "
                f"permuting W's columns only: {wo['exact']}/{pt['tested']} exact, mean relative "
                f"error of the others {_g(wo['mean_rel_error_non_identity'])}")
    explained = co["inexact"] == 0 and wo["exact_non_identity"] == 0
    return Claim("Permutation test (identity unique)", "1/5040 works, mean error 0.74", measured,
                 "artifact explained" if explained else "not reproduced", "metrics/verify.json")


def grokking(m: dict) -> Claim:
    """Claim: grokking around epoch 450 at B=32, never at B=512."""
    b32, b512 = _cond(m, "paper_B32"), _cond(m, "large_B512")
    if not (b32 and b512):
        return Claim("Grokking at B=32, not at B=512", "~epoch 450 / never",
                     "conditions not run", "not testable", "metrics/conditions.json")
    measured = (f"B=32: {b32['grokked_runs']}/{b32['runs']} runs grok (median epoch "
                f"{_g(b32['median_grokking_epoch'])}, memorization plateaus "
                f"{b32['memorization_plateau_runs']}); B=512: {b512['grokked_runs']}/"
                f"{b512['runs']}; small training set ({_cond(m, 'small_train_set')['n_train']} "
                f"pairs): {_cond(m, 'small_train_set')['grokked_runs']} grok"
                ) if _cond(m, "small_train_set") else ""
    med = b32["median_grokking_epoch"]
    ok = b32["grokked_runs"] > 0 and b512["grokked_runs"] == 0 and med and 300 <= med <= 600
    return Claim("Grokking at B=32, not at B=512", "~epoch 450 at B=32; never at B=512",
                 measured, "reproduced" if ok else "not reproduced", "metrics/conditions.json")


def _bench_cell(m: dict, n: int, dtype: str, threads: int) -> dict | None:
    return m["bench"]["cells"].get(f"{dtype}_t{threads}_n{n}")


def speedup(m: dict, threads: int, paper: float) -> Claim:
    """Claim: the C Strassen is 1.95x (1 thread) / 0.52x (multi-thread) vs OpenBLAS at 8192."""
    cells = {dt: _bench_cell(m, 8192, dt, threads) for dt in ("float64", "float32")}
    got = {dt: c for dt, c in cells.items() if c}
    if not got:
        why = m["bench"].get("reason") or "N=8192 not benchmarked"
        return Claim(f"Speedup vs OpenBLAS at N=8192, {threads} thread(s)", f"{paper}x",
                     f"no kernel timed: {why}", "not testable", "metrics/bench.json")
    measured = "; ".join(f"{dt}: {c['speedup_vs_blas']:.2f}x vs leaf BLAS"
                         + (f", {c['speedup_vs_numpy']:.2f}x vs numpy" if "speedup_vs_numpy" in c
                            else "") + f" ({c['levels']} levels, error {_g(c['rel_error'])})"
                         for dt, c in got.items())
    plans = {(pl["dtype"], pl["threads"]): pl for pl in m["bench"].get("plans", [])}
    for dt in got:
        plan = plans.get((dt, min(threads, 2)))
        if plan is None:
            continue
        where = (f"recurses from N={plan['threshold']}" if plan["threshold"]
                 else "calls gemm directly at every size")
        measured += f"; {dt} plan: {plan.get('schedule', 'breadth')}-first, {where}"
        best = max(plan.get("ceiling") or [], key=lambda c: c["speedup"], default=None)
        if best:
            measured += (f", free additions would give at most {best['speedup']:.2f}x "
                         f"({best['levels']} levels)")
    best = max(c["speedup_vs_blas"] for c in got.values())
    if paper > 1:  # reproduced if we reach the paper's factor within 5%
        verdict = "reproduced" if best >= 0.95 * paper else "not reproduced"
    else:  # the claim is that the scheme loses; reproduced if ours loses too
        verdict = "reproduced" if best < 1 else "not reproduced"
    return Claim(f"Speedup vs OpenBLAS at N=8192, {threads} thread(s)", f"{paper}x", measured,
                 verdict, "metrics/bench.json")


def memory(params: dict) -> Claim:
    """Claim (Appendix F): model 384 bytes, optimizer state 768 bytes, 320 bytes per sample."""
    n, m_, p = params["task"]["format"]
    slots = params["train"]["slots"]
    d = slots * (n * m_ + m_ * p) + n * p * slots
    per_sample = 2 * (n * m_ + m_ * p + 2 * n * p + 3 * slots)  # forward + backward, float32
    measured = (f"d = {d} parameters: {4 * d} bytes in float32, AdamW moments {8 * d} bytes; per "
                f"sample {4 * per_sample} bytes (a, b, c, output, Ua, Vb, products and their "
                f"gradients, float32)")
    ok = 4 * d == 384 and 8 * d == 768 and 4 * per_sample == 320
    return Claim("Memory figures (Appendix F)", "384 / 768 / 320 bytes", measured,
                 "reproduced" if ok else "not reproduced", "params.yaml (train.slots, task)")


CLAIMS: list[Callable[[dict], Claim]] = [
    success_rate, batch_effect, batch_range, recipe_needs, phase1_alone, prune_round, noise_claim,
    kappa_claim, kappa_prediction, expansion, permutation, grokking,
    lambda m: speedup(m, 1, 1.95), lambda m: speedup(m, 2, 0.52),
]


def build_claims(metrics: dict, params: dict) -> list[Claim]:
    """Every claim row, in the report's order."""
    return [claim(metrics) for claim in CLAIMS] + [memory(params)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sparsify_section(metrics: dict) -> list[str]:
    """Markdown lines on sparsify's yield beside rounding, with the untrained control."""
    disc = metrics["discretize"]
    lines = ["## Beyond the paper: sparsify-and-pin", "",
             "Rounding a trained model almost never gives a correct scheme: exact rank-7 solutions "
             "form a continuous family and training stops at a generic, non-integer point of it. "
             "`sparsify` polishes the weights to an exact real solution, zeroes and pins "
             "coordinates while the Brent equations stay solved, then rounds and verifies "
             "exactly.", "",
             f"- Main run (`dvc repro`): method `{disc['method']}`, exact {_g(disc['exact'])}, "
             f"fallback {_g(disc['fallback'])}, {disc['nonzeros']} nonzeros, equivalent to "
             f"Strassen {_g(disc['equivalent_to_strassen'])}.",
             f"- 195-run study, exact scheme: round "
             f"{_rate(metrics['anova']['round'].get('exact_only'))}; sparsify "
             f"{_rate(metrics['anova']['sparsify'].get('exact_only'))}. Exact and expanding to "
             f"64x64 within the paper's float32 tolerance ({_sci(EXPANSION_TOL)}): round "
             f"{_rate(metrics['anova']['round']['overall'])}; sparsify "
             f"{_rate(metrics['anova']['sparsify']['overall'])} (every exact scheme is correct at "
             f"every size in exact arithmetic; the tolerance rejects schemes with more nonzeros, "
             f"whose float32 rounding error is larger).", "",
             "| condition | B | wd | epochs | train pairs | round exact | sparsify exact |",
             "|---|---|---|---|---|---|---|"]
    for name, c in metrics["conditions"]["conditions"].items():
        lines.append(f"| {name} | {c['batch_size']} | {_g(c['weight_decay'])} | {c['epochs']} | "
                     f"{c['n_train']} | {c['exact_round']}/{c['runs']} | "
                     f"{c['exact_sparsify']}/{c['runs']} |")
    control = _cond(metrics, "untrained_control")
    if control:
        lines += ["", f"The untrained control (the random initialisation itself, pruned and "
                      f"crystallized) gives {control['exact_sparsify']}/{control['runs']} with "
                      f"sparsify: the success of sparsify measures the solver, not the training."]
    return lines


def render(claims: list[Claim], metrics: dict, sections: tuple[list[str], ...] = ()) -> str:
    """The report as Markdown: claim table, verdict counts, the sparsify section, `sections`
    (lists of Markdown lines), performance."""
    counts = {v: sum(c.verdict == v for c in claims) for v in VERDICTS}
    lines = ["# Claims vs evidence", "",
             "Generated by the `report` stage from the metrics files of the last `dvc repro`; "
             "every measured value below comes from the file named in its row.", "",
             "Verdicts: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".", "",
             "| # | claim | paper | measured | verdict | source |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(claims, 1):
        lines.append(f"| {i} | {_cell(c.claim)} | {_cell(c.paper)} | {_cell(c.measured)} | "
                     f"**{c.verdict}** | {_cell(c.source)} |")
    lines += [""] + sparsify_section(metrics)
    for extra in sections:
        lines += [""] + extra
    bench = metrics.get("sweep_bench") or {}
    if bench:
        lines += ["", "## Pipeline performance (metrics/sweep_bench.json)", ""]
        lines += [f"- {k}: {_g(v)}" for k, v in sorted(bench.items())
                  if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return "\n".join(lines) + "\n"
