"""Learning, crystallizing, verifying and compiling bilinear matrix-multiplication schemes.

Packages (imports run one way: algebra <- learn <- search <- studies; report and native sit on
algebra; cli on top):

- algebra: what is true of schemes, whoever made them (verification, formats, equivalence);
- learn: how schemes are learned (data, model, training, pruning, crystallization methods);
- search: discovery of schemes by flip-graph walks, and the executor (local or Dask);
- studies: questions asked of many runs (noise, kappa, conditions, the batch-size sweep);
- report: what people read (the claims-vs-evidence report, figures);
- native: the C kernel compiled from a scheme, its plan (per-machine wisdom) and benchmarks.

Plumbing every layer may use:

- io: atomic file writes, safe loaders, the per-user cache folder;
- params: params.yaml validation and the shared parameter blocks;
- checks: input content checks, memory requests, outputs written only once a stage succeeded;
- seeds: every random stream by name;
- intervals: confidence intervals (Wilson);
- stage: the one-line-error entry point every stage shares;
- cli and __main__: the command line (`bilinear` / `python -m bilinear`).
"""
