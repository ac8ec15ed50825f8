"""Native kernel compiled from a scheme file.

plan.py validates a scheme (exact Brent check, coefficient range) and describes one recursion
level: which operands are plain blocks and which need a temporary, the products and their
destinations, and the linear combinations after common-subexpression elimination.  codegen.py
emits C: per dtype, three fused write-once passes (all A operands, all B operands, and the C
blocks from products with several destinations) plus the generic recursion in mm_body.c, which
peels odd dimensions and accumulates single-destination products straight into C (gemm
beta=1).  A level runs in one of two schedules: breadth-first (those passes, then the products:
at 2 threads either pairwise on two threads over 1-thread BLAS (split) or one thread over
2-thread BLAS, never both) or depth-first (one product at a time, its operands formed just
before its gemm and its product added into C right after; workspace under one operand).
build.py compiles it with cffi against scipy-openblas64; tune.py measures, on the machine that
runs it, which schedule and from which size a level pays; kernel.py is the Python API (matmul,
levels rule, workspace); bench.py times it.
"""
