"""Discovery of schemes by search: the flip-graph walker in C (flips.c) and its Python wrapper
(flips), its Z3-symmetric walks on square formats (symmetric), the discovery runs over targets
and their found folders (discover), the pooled search with its time-to-rank table (pool), the
certified classes beyond the refined fingerprint, decided by the equivalence search (census), the
executor that runs tasks on local processes or a Dask cluster (executor) and its resumable
runs, whose finished results are kept in a partial-results file (resume).  May import
bilinear.algebra and bilinear.learn."""
