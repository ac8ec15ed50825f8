"""What is true of schemes, whoever made them: the <n,m,p> tensor, exact verification, canonical
form and scheme files (schemes), equivalence witnesses (equivalence), recursive block expansion
(expand) and slot permutations (permutation).  Imports nothing else of the project but the shared
plumbing (bilinear.io)."""
