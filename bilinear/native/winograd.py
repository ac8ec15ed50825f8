"""Winograd's 1971 variant of Strassen's scheme: the 15-addition reference for the kernel."""

from __future__ import annotations

from bilinear.algebra.schemes import Scheme


def winograd() -> Scheme:
    """Winograd's variant (7 products; 15 additions with its shared sums, found again by CSE)."""
    U = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, -1, -1], [0, 0, 0, 1], [0, 0, 1, 1], [-1, 0, 1, 1],
         [1, 0, -1, 0]]
    V = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, -1, -1, 1], [-1, 1, 0, 0], [1, -1, 0, 1],
         [0, -1, 0, 1]]
    W = [[1, 1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 1, 0], [1, 0, 0, -1, 0, 1, 1],
         [1, 0, 0, 0, 1, 1, 1]]
    return Scheme((2, 2, 2), U, V, W, {"source": "Winograd 1971"})
