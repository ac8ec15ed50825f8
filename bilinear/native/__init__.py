"""Native kernel compiled from a scheme file, one line per module:

plan.py         validates a scheme and describes one recursion level (operands, products, CSE).
codegen.py      emits the C of a scheme (fused passes per dtype) around the generic
                prelude.c, common.c and mm_body.c (recursion, odd fringes, schedules).
build.py        compiles it with cffi against the packaged OpenBLAS (scipy-openblas64).
machine.py      the machine: CPU (/proc/cpuinfo), BLAS libraries, OpenBLAS loaded (only here).
kernel.py       the Python API (matmul, levels rule from the plan, safe default, workspace).
timing.py       the one timing harness: warm-up, rotating rounds, idle pauses, medians and spread.
tune.py         measures a plan: which schedule, and from which size, a level pays.
wisdom.py       stores plans per machine under ~/.cache/bilinear/ (key: CPU, BLAS, code, scheme).
accuracy.py     errors against a float64 reference without full-size temporaries (numexpr).
bench.py        the learned kernel against one gemm call and numpy (plan, cells, first call).
bench_figure.py the bench's speedup-by-size figure.
first_call.py   a fresh process's first call against its warm calls, and its workspace.
winograd.py     Winograd's 15-addition variant of Strassen's scheme.
imported.py     the published reference schemes compiled into build/reference/.
leaderboard.py  the published schemes timed side by side against one gemm call.
designs.py      designs derived from Strassen's scheme (flattened, alternative basis, batched gemm).
"""
