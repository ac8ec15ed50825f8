"""Hensel lifting: from a scheme exact modulo 2 to one exact over the integers (or rationals).

A scheme over GF(2) is a solution X_1 of the Brent equations F(X) = T modulo 2.  If X_k solves
them modulo 2^k, then X_{k+1} = X_k + 2^k D solves them modulo 2^(k+1) exactly when

    J D = (T - F(X_k)) / 2^k   (mod 2),

J being the Jacobian of F at X_1 taken mod 2 (the same matrix at every step, since X_k = X_1
mod 2).  J is reduced once (Gaussian elimination over GF(2), bit-packed); each step is one
solve, free unknowns set to 0.  The recorded row operations take 8 (nm mp np)^2 bytes: about
130 MB at <4,4,4> (a lift there takes about a second), about 2 GB at <5,5,5>.  After each step
the sign-balanced representatives of X mod 2^(k+1) (entries in (-2^k, 2^k]) are tried as an
integer scheme, and from `reconstruct_from`
steps on, rational reconstruction of every entry (odd denominators) as a rational scheme; the
exact verifier (bilinear.algebra.schemes.verify) is the only judge.

Outcomes (LiftResult.status): "lifted" (an exact scheme, returned); "obstructed" (a step's system
has no solution; at a later step this depends on the free unknowns chosen before, but at step 1
(LiftResult.proved) it *proves* that no scheme over the 2-adic integers, hence none over
Z or over rationals with odd denominators, reduces to the given one mod 2, because any such
scheme taken mod 4 would solve it); "unreconstructed" (every step solved, but no representative
verified within the steps: not a proof of anything, the free unknowns might be chosen better).
Both kinds of failure occur even for reductions mod 2 of exact ternary schemes (about 1 in 6 of
<3,3,3>:23 ones in a trial): the zero choice of free unknowns is a heuristic, and drawing them at
random instead did not lift more in the same trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bilinear.algebra.schemes import Scheme, matmul_tensor, valid_modulo_2, verify


@dataclass
class LiftResult:
    """The outcome of lift: status, the exact scheme if lifted, the steps made."""

    status: str              # "lifted", "obstructed" or "unreconstructed"
    scheme: Scheme | None
    steps: int               # linear solves made (step k lifts mod 2^k to mod 2^(k+1))

    @property
    def proved(self) -> bool:
        """True when the failure is a proof that no 2-adic (so no integer) lift exists."""
        return self.status == "obstructed" and self.steps == 1


def _factors(scheme: Scheme) -> list[np.ndarray]:
    """U (R x nm), V (R x mp), W (R x np) as int64 arrays of the residues mod 2."""
    return [np.array([[int(x) % 2 for x in row] for row in M], dtype=np.int64)
            for M in (scheme.U, scheme.V, scheme.W.T)]


def _jacobian(U: np.ndarray, V: np.ndarray, W: np.ndarray) -> np.ndarray:
    """J mod 2 as a bool array: rows (i, j, k) of the tensor, columns U's, V's then W's
    entries product by product."""
    R, a, b, c = U.shape[0], U.shape[1], V.shape[1], W.shape[1]
    blocks = []
    eye = [np.eye(d, dtype=np.int64) for d in (a, b, c)]
    for r in range(R):
        du = np.einsum("ix,j,k->ijkx", eye[0], V[r], W[r]).reshape(a * b * c, a)
        dv = np.einsum("i,jx,k->ijkx", U[r], eye[1], W[r]).reshape(a * b * c, b)
        dw = np.einsum("i,j,kx->ijkx", U[r], V[r], eye[2]).reshape(a * b * c, c)
        blocks += [du, dv, dw]
    return (np.concatenate(blocks, axis=1) % 2).astype(bool)


class _Solver:
    """Reduced row echelon form of a GF(2) matrix with the row operations recorded, so that
    J x = b (mod 2) is solved for any b by one product."""

    def __init__(self, J: np.ndarray):
        rows, cols = J.shape
        full = np.concatenate([J, np.eye(rows, dtype=bool)], axis=1)
        pad = (-full.shape[1]) % 64
        full = np.pad(full, ((0, 0), (0, pad)))
        A = np.packbits(full, axis=1, bitorder="little").view(np.uint64).copy()
        pivots, r = [], 0
        for c in range(cols):
            word, bit = c >> 6, np.uint64(c & 63)
            bits = ((A[:, word] >> bit) & np.uint64(1)).astype(bool)
            below = np.flatnonzero(bits[r:])
            if not below.size:
                continue
            p = r + int(below[0])
            if p != r:
                A[[r, p]] = A[[p, r]]
                bits[[r, p]] = bits[[p, r]]
            bits[r] = False
            A[bits] ^= A[r]
            pivots.append(c)
            r += 1
            if r == rows:
                break
        unpacked = np.unpackbits(A.view(np.uint8), axis=1, bitorder="little")
        self.M = unpacked[:, cols:cols + rows].astype(np.int64)   # row operations
        self.pivots, self.rank, self.cols = pivots, r, cols

    def solve(self, b: np.ndarray) -> np.ndarray | None:
        """x with J x = b (mod 2), free unknowns 0; None if there is none."""
        reduced = (self.M @ (b % 2)) % 2
        if reduced[self.rank:].any():
            return None
        x = np.zeros(self.cols, dtype=np.int64)
        x[self.pivots] = reduced[:self.rank]
        return x


def _residual_mod(U, V, W, T, modulus: int) -> np.ndarray:
    """(T - F(U, V, W)) mod modulus, flattened, in int64 (modulus <= 2^20)."""
    P = (U[:, :, None] * V[:, None, :]) % modulus                  # R x a x b
    F = np.einsum("rij,rk->ijk", P, W) % modulus
    return ((T - F) % modulus).reshape(-1)


def _balanced(X: np.ndarray, modulus: int) -> np.ndarray:
    X = X % modulus
    return np.where(X > modulus // 2, X - modulus, X)


def rational_reconstruction(x: int, modulus: int) -> Fraction | None:
    """The fraction a/b (b odd here, |a|, b <= sqrt(modulus / 2)) congruent to x, if any."""
    bound = int((modulus // 2) ** 0.5)
    r0, r1, s0, s1 = modulus, x % modulus, 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1, s0, s1 = r1, r0 - q * r1, s1, s0 - q * s1
    if s1 == 0 or abs(s1) > bound or np.gcd(s1, modulus) != 1:
        return None
    return Fraction(r1, s1)


def _scheme(fmt, U, V, W, provenance) -> Scheme:
    return Scheme(fmt, U, V, np.asarray(W, dtype=object).T, dict(provenance))


def lift(scheme: Scheme, steps: int = 19, reconstruct_from: int = 6) -> LiftResult:
    """Lift a scheme exact mod 2 (coefficients taken mod 2) to an exact one: see the module."""
    if not valid_modulo_2(scheme):
        raise ValueError("lift: the scheme is not exact modulo 2")
    if not 1 <= steps <= 19:
        raise ValueError(f"lift: steps must be in [1, 19], got {steps}")
    fmt = scheme.fmt
    U, V, W = _factors(scheme)
    T = matmul_tensor(*fmt)
    solver = _Solver(_jacobian(U, V, W))
    sizes = np.cumsum([0] + [x.shape[1] for x in (U, V, W)])
    provenance = {**scheme.provenance, "lifted_from": "GF(2)"}
    for k in range(0, steps + 1):
        modulus = 2 ** (k + 1)
        if k:
            D = solver.solve(_residual_mod(U, V, W, T, modulus) >> k)
            if D is None:
                return LiftResult("obstructed", None, k)
            D = D.reshape(U.shape[0], sizes[-1])
            U, V, W = (X + (D[:, lo:hi] << k) for X, lo, hi
                       in zip((U, V, W), sizes[:-1], sizes[1:], strict=True))
        candidate = _scheme(fmt, *(_balanced(X, modulus) for X in (U, V, W)),
                            {**provenance, "lift_steps": k})
        if verify(candidate):
            return LiftResult("lifted", candidate, k)
        if k >= reconstruct_from:
            fracs = [np.array([[rational_reconstruction(int(x), modulus) for x in row]
                               for row in X], dtype=object) for X in (U, V, W)]
            if all(f is not None for F in fracs for f in F.flat):
                candidate = _scheme(fmt, *fracs, {**provenance, "lift_steps": k})
                if verify(candidate):
                    return LiftResult("lifted", candidate, k)
    return LiftResult("unreconstructed", None, steps)
