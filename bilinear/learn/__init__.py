"""How schemes are learned.  May import bilinear.algebra.  Modules:

- data: the fixed Gaussian data sets;
- model: the bilinear model;
- training: the training recipes, batched over runs;
- prune: slot importance and pruning to fewer slots;
- brent: the Brent equations of one run (residual, Jacobian, slot rescaling);
- crystal: what every crystallization method shares (Crystal, Task, Clock, Q, margin);
- methods: the crystallization methods (round, sparsify, anneal), their registry and discretize.
"""
