"""What is true of schemes, whoever made them.  Imports nothing else of the project but the
shared plumbing (bilinear.io).  Modules:

- schemes: the <n,m,p> tensor, the Scheme, exact verification and canonical form;
- formats: scheme file formats, one module each, in one registry (read by content, written);
- bundle: many schemes in one compressed file (discovery's collections);
- equivalence: equivalence witnesses (Strassen's orbit);
- equivalence_search: the explicit equivalence search between two schemes of any format;
- expand: recursive block expansion and its errors;
- permutation: slot permutations;
- fingerprint: invariants that tell inequivalent schemes apart;
- invariants: the refined fingerprint (certified classes of pairwise inequivalent schemes);
- lift: Hensel lifting of schemes exact modulo 2 to exact integer (or rational) ones;
- basis: alternative bases (a sparser core bilinear map between changed bases);
- product: the tensor product (flattened levels) of schemes.
"""
