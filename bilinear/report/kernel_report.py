"""Report section on the native kernel: the machine, the measured plans with the speedup that
free additions would allow, the first call per schedule and the scheme leaderboard."""

from __future__ import annotations


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:+.1f}%"


def _best_ceiling(plan: dict) -> dict | None:
    return max(plan.get("ceiling") or [], key=lambda c: c["speedup"], default=None)


def kernel_section(metrics: dict) -> list[str]:
    """Markdown lines from metrics/bench.json (empty if it has no plans)."""
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
    board = bench.get("leaderboard") or {}
    if board.get("rows"):
        lines += ["", f"Scheme leaderboard: N={board['n']}, {board['dtype']}, 1 thread, every "
                  "levels count and schedule timed, the fastest kept:", "",
                  "| scheme | format | rank | additions per level | levels | schedule | "
                  "speedup vs one gemm | error |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['scheme']} | {'x'.join(map(str, r['format']))} | {r['rank']} | "
                  f"{r['additions_per_level']} | {r['levels']} | {r.get('schedule', 'breadth')}"
                  f" | {_x(r['speedup_vs_blas'])} | {r['rel_error']:.1e} |"
                  for r in board["rows"]]
    return lines
