"""Stage `sweep@B<size>`: every run of the batch-size study at that batch size, trained at once,
then crystallized at every evaluation epoch -> data/sweep/B<size>.csv.  SIGINT or SIGTERM stops
the crystallization workers at once with one line; the table is written only when complete.
Usage: python -m stages.sweep B<size>   (e.g. B32; an entry of params sweep.batch_sizes)
Reads: params.yaml (seed, anneal, sweep.protocols, sweep.run, sweep.batch_sizes.B<size>). Writes:
data/sweep/B<size>.csv."""

from __future__ import annotations

import sys

import torch

from bilinear.io import write_csv
from bilinear.params import ParamError
from bilinear.search.executor import Interrupted
from bilinear.stage import stage_main
from bilinear.studies import anneal_study, sweep
from bilinear.studies.batch_keys import batch_key, batch_of, is_batch_key
from bilinear.studies.sweep_batch import read_params, run_batch


@stage_main
def main(argv: list[str] | None = None) -> int:
    """Write data/sweep/B<size>.csv for the batch size given on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not is_batch_key(args[0]):
        raise ParamError(f"usage: python -m stages.sweep B<size>, e.g. B32 (got {args})")
    batch = batch_of(args[0])
    seed, cfg = read_params()
    if batch not in cfg["batch_sizes"]:
        raise ParamError(f"sweep.batch_sizes: no entry {args[0]} (batch sizes "
                         f"{cfg['batch_sizes']})")
    torch.set_num_threads(1)
    try:
        table, timing = run_batch(batch, seed, cfg)
    except (Interrupted, KeyboardInterrupt) as exc:  # workers already stopped by the executor
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        print(f"error: sweep@{batch_key(batch)}: {exc or 'interrupted by SIGINT'}; "
              f"data/sweep/{batch_key(batch)}.csv not written (other batch sizes untouched)",
              file=sys.stderr)
        return code
    write_csv(f"data/sweep/{batch_key(batch)}.csv", table,
              sweep.columns(cfg["kappa_percents"]))
    failed = [f"{r['run_id']}@{r['epoch']}:{r['method']}" for r in table if r["nonzeros"] == ""]
    if failed:
        print(f"warning: the crystallization solver failed (no scheme, counted as failure) on "
              f"{', '.join(failed)}", file=sys.stderr)
    wins = [r["method"] for r in table
            if r["final"] == r["exact"] == r["expansion_success"] == "True"]
    methods = (*sweep.METHODS, *anneal_study.PROTOCOLS)
    rates = ", ".join(f"{m} {wins.count(m)}/{timing['runs']}" for m in methods)
    annealing = ", ".join(f"{m} {s:.1f}s" for m, s in timing["anneal"].items())
    print(f"sweep@{batch_key(batch)}: {timing['runs']} runs x {cfg['epochs']} epochs, train "
          f"{timing['train']:.1f}s, anneal {annealing}, crystallize "
          f"{timing['crystallize']:.1f}s ({len(table)} rows); "
          f"final successes {rates}; solver failures {len(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
