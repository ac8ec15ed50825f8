"""Report section on the native kernel: the machine, the measured plans with the speedup that
free additions would allow, the first call per schedule (metrics/bench.json), the scheme
leaderboard (metrics/leaderboard.json) and the designs measured and not kept
(metrics/kernel_designs.json)."""

from __future__ import annotations


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:+.1f}%"


def _best_ceiling(plan: dict) -> dict | None:
    return max(plan.get("ceiling") or [], key=lambda c: c["speedup"], default=None)


def kernel_section(metrics: dict) -> list[str]:
    """Markdown lines from metrics/bench.json and metrics/leaderboard.json (empty if the bench
    has no plans)."""
    bench = metrics.get("bench") or {}
    plans = bench.get("plans") or []
    if not plans:
        return []
    machine = bench.get("machine", {})
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})"
                     for b in machine.get("blas", []))
    lines = ["## The native kernel on this machine (metrics/bench.json)", "",
             f"Machine: {machine.get('cpu')}; flags {' '.join(machine.get('cpu_flags', []))}; "
             f"BLAS {blas or 'unknown'}.", "",
             "The plan times one level in each schedule against one gemm call per size. "
             "The ceiling is what the leaf gemm calls alone would give at the largest size (the "
             "additions free), from the gemm times measured at the leaf sizes.", "",
             "| dtype | threads | schedule chosen | recurses from N | one level at the largest N, "
             "by schedule | ceiling (levels, leaf N) |", "|---|---|---|---|---|---|"]
    for plan in plans:
        largest = max(plan["cells"], key=lambda c: c["n"])
        gains = ", ".join(f"{s} {_pct(v['gain'])}" for s, v in largest["levels"].items())
        best = _best_ceiling(plan)
        ceiling = (f"{_x(best['speedup'])} ({best['levels']}, {best['leaf_n']})" if best
                   else "-")
        lines.append(f"| {plan['dtype']} | {plan['threads']} | {plan.get('schedule', 'breadth')}"
                     f" | {plan['threshold'] or 'never'} | N={largest['n']}: {gains} | "
                     f"{ceiling} |")
    first = bench.get("first_call") or []
    if first:
        lines += ["", "First call in a fresh process, 1 thread, at the plan's levels (at least "
                  "one):", "", "| dtype | schedule | N | levels | first / warm | workspace / "
                  "one operand |", "|---|---|---|---|---|---|"]
        lines += [f"| {c['dtype']} | {c.get('schedule', 'breadth')} | {c['n']} | {c['levels']} | "
                  f"{_x(c['first_over_warm'])} | {c['workspace_over_operand']:.2f} |"
                  for c in first]
    unplanned = bench.get("first_call_unplanned") or []
    if unplanned:
        lines += ["", "First call in a fresh process with no plan stored (the safe default: "
                  "one gemm call), against numpy.matmul of the same product at the same "
                  "thread count (its warm calls; its own first call): "
                  + "; ".join(f"{c['dtype']} N={c['n']} t{c['threads']}: "
                              f"{_x(c['first_over_numpy'])} ({_x(c['first_over_numpy_first'])})"
                              for c in unplanned)
                  + f". It says so on stderr: \"{unplanned[0]['notice']}\""]
    board = metrics.get("leaderboard") or {}
    if board.get("rows"):
        lines += ["", f"Scheme leaderboard (metrics/leaderboard.json): N={board['n']}, "
                  f"{board['dtype']}, 1 thread, every levels count and schedule timed, "
                  "the fastest kept:", "",
                  "| scheme | format | rank | additions per level | levels | schedule | "
                  "speedup vs one gemm | error |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['scheme']} | {'x'.join(map(str, r['format']))} | {r['rank']} | "
                  f"{r['additions_per_level']} | {r['levels']} | {r.get('schedule', 'breadth')}"
                  f" | {_x(r['speedup_vs_blas'])} | {r['rel_error']:.1e} |"
                  for r in board["rows"]]
    return lines


def designs_section(metrics: dict) -> list[str]:
    """Markdown lines from metrics/kernel_designs.json (empty if it has no cells)."""
    designs = metrics.get("kernel_designs") or {}
    rows = designs.get("cells") or []
    if not rows:
        return []
    adds = designs.get("additions_per_level", {})
    alt = designs.get("alternative_basis", {})
    lines = ["", "### Kernel designs measured side by side (metrics/kernel_designs.json)", "",
             f"N={designs['n']}, {designs['dtype']}, median of {designs['repeats']} rotating "
             f"rounds. Additions per level: plain {adds.get('plain')}, flattened (one level of "
             f"the scheme's tensor square, rank 49) {adds.get('flattened')}, alternative-basis "
             f"core {adds.get('core')} (direct additions: scheme "
             f"{alt.get('direct_additions_of_the_scheme')}, core "
             f"{alt.get('direct_additions_of_the_core')}, basis changes "
             f"{alt.get('basis_change_additions')}). The alternative basis is timed on inputs "
             "already in its bases; its bound adds the least its three basis changes can cost "
             "(one copy pass over each matrix).", "",
             "| threads | design | levels | schedule | seconds | speedup vs one gemm | bound "
             "with basis changes | error |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['threads']} | {r['design']} | {r['levels']} | {r['schedule'] or '-'} | "
              f"{r['seconds']:.2f} | {_x(r['speedup_vs_blas'])} | "
              f"{_x(r.get('speedup_bound_vs_blas'))} | {r['rel_error']:.1e} |" for r in rows]
    for b in designs.get("batched_gemm") or []:
        lines += ["", f"One level's {b['products']} products of {b['block']}^3 at {b['threads']} "
                  f"threads: one OpenBLAS batched-gemm call {b['t_batched']:.2f} s against "
                  f"{b['t_sequential']:.2f} s one after another "
                  f"({_x(b['sequential_over_batched'])} for the batched call)."]
    return lines
