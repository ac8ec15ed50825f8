"""Stage `sweep@B<size>`: every run of the batch-size study at that batch size, trained at once,
then crystallized at every evaluation epoch -> data/sweep/B<size>.csv.  Each finished
crystallization is kept in a partial-results file in the user's cache folder
(sweep_batch.partial_results); SIGINT or SIGTERM stops the workers at once with one line, and a
rerun with the same params and code retrains (deterministic), then crystallizes only what is
missing, giving the bytes of an uninterrupted run.  The table is written only when complete, and
the partial file is then removed.
Usage: python -m stages.sweep B<size>   (e.g. B32; an entry of params sweep.batch_sizes)
Reads: params.yaml (seed, anneal, sweep.protocols, sweep.run, sweep.batch_sizes.B<size>). Writes:
data/sweep/B<size>.csv."""

from __future__ import annotations

import os
import signal
import sys

import torch

from bilinear.io import write_csv
from bilinear.params import ParamError
from bilinear.search.executor import Interrupted, Interruptible
from bilinear.stage import stage_main
from bilinear.studies import anneal_study, sweep
from bilinear.studies.batch_keys import batch_key, batch_of, is_batch_key
from bilinear.studies.sweep_batch import partial_results, read_params, run_batch


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
    partial = partial_results(batch, seed, cfg, os.getcwd())
    try:
        with Interruptible().active():  # training and annealing too, not only the executor's tasks
            table, timing = run_batch(batch, seed, cfg, partial=partial)
    except Interrupted as exc:  # workers already stopped by the executor
        kept = (f"{partial.kept} of {partial.total} crystallizations kept in {partial.path}, "
                "rerunning resumes from them" if partial.total else
                "stopped before crystallizing")
        print(f"error: sweep@{batch_key(batch)}: interrupted by "
              f"{signal.Signals(exc.signum).name}; {kept}; data/sweep/{batch_key(batch)}.csv "
              "not written (other batch sizes untouched)", file=sys.stderr)
        return exc.exit_code
    write_csv(f"data/sweep/{batch_key(batch)}.csv", table,
              sweep.columns(cfg["kappa_percents"]))
    partial.remove()
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
