"""How schemes are learned: the fixed Gaussian data sets (data), the bilinear model (model), the
training recipes (training) and pruning and crystallization into exact schemes (crystallize).
May import bilinear.algebra."""
