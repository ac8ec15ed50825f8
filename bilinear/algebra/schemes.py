"""Matrix-multiplication schemes: tensors, exact verification and canonical form.

Convention (the project's only one): a scheme for the format <n,m,p> (an n x m matrix A times an
m x p matrix B) at rank R is three arrays

    U  (R, n*m)   coefficients of vec(A), row-major
    V  (R, m*p)   coefficients of vec(B), row-major
    W  (n*p, R)   coefficients that rebuild vec(C), row-major

with  vec(C) = W @ ((U @ vec(A)) * (V @ vec(B))).  Coefficients are exact rationals, stored as
numpy object arrays of ``fractions.Fraction``.  Other conventions are converted in the readers
and writers of bilinear.algebra.formats, and nowhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from bilinear.io import LoadError


class SchemeFormatError(LoadError):
    """A scheme file or array set that cannot be read as a scheme (malformed, wrong shapes, ...)."""


# What a scheme file may declare, so that reading and verifying it stay within seconds and
# a few hundred MB: the Brent tensor has (nm)(mp)(np) entries and verification forms rank*nm*mp.
MAX_SIDE = 16  # each of n, m, p
MAX_PRODUCT = 2048  # n*m*p (AlphaTensor's published schemes reach 11x12x12, 1584)
MAX_RANK = 2048  # products
MAX_DIGITS = 4300  # decimal digits of a coefficient's numerator or denominator
MAX_EXACT_WORK = 10**7  # big-integer operations of an exact verification (see exact_work)
LIMITS = (f"n, m and p at most {MAX_SIDE}, n*m*p at most {MAX_PRODUCT}, rank at most {MAX_RANK}, "
          f"coefficients of at most {MAX_DIGITS} digits, at most {MAX_EXACT_WORK:.0e} "
          "big-integer operations to verify")
_MAX_BITS = int(MAX_DIGITS * 3.3219280948873626) + 1  # bits of a MAX_DIGITS-digit number


def check_limits(fmt, rank: int | None = None) -> None:
    """Raise SchemeFormatError (stating the limits) unless a declared format and rank are within
    the limits above; called by the readers before they allocate anything of that size."""
    n, m, p = fmt
    if max(n, m, p) > MAX_SIDE or n * m * p > MAX_PRODUCT:
        raise SchemeFormatError(f"format {n}x{m}x{p} is beyond the limits ({LIMITS})")
    if rank is not None and rank > MAX_RANK:
        raise SchemeFormatError(f"rank {rank} is beyond the limits ({LIMITS})")


def check_magnitude(x: Fraction, name: str = "a coefficient") -> Fraction:
    """x, unless its numerator or denominator has more than MAX_DIGITS digits (SchemeFormatError);
    readers call it on every intermediate value so arithmetic stays linear in the input."""
    if x.numerator.bit_length() > _MAX_BITS or x.denominator.bit_length() > _MAX_BITS:
        raise SchemeFormatError(f"{name} has more than {MAX_DIGITS} digits ({LIMITS})")
    return x


def parse_number(text: str, name: str = "a coefficient") -> Fraction:
    """The rational of 'p', '-p' or 'p/q' text; SchemeFormatError when it is not one or has more
    than MAX_DIGITS digits (checked on the text, before any conversion)."""
    if len(text) > 2 * MAX_DIGITS + 3 or any(len(part.strip().lstrip("+-")) > MAX_DIGITS
                                              for part in text.split("/")):
        raise SchemeFormatError(f"{name} has more than {MAX_DIGITS} digits ({LIMITS})")
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise SchemeFormatError(f"{name} {text[:20]!r} is not a rational number") from None


@dataclass
class Scheme:
    """A bilinear matrix-multiplication scheme with exact rational coefficients."""

    fmt: tuple[int, int, int]
    U: np.ndarray
    V: np.ndarray
    W: np.ndarray
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fmt = tuple(int(x) for x in self.fmt)
        if len(self.fmt) != 3 or min(self.fmt) < 1:
            raise SchemeFormatError(f"format must be three positive integers, got {self.fmt}")
        self.U = to_fractions(self.U, "U")
        self.V = to_fractions(self.V, "V")
        self.W = to_fractions(self.W, "W")
        n, m, p = self.fmt
        rank = self.U.shape[0] if self.U.ndim == 2 else -1
        expected = {"U": (rank, n * m), "V": (rank, m * p), "W": (n * p, rank)}
        for name, shape in expected.items():
            got = getattr(self, name).shape
            if got != shape:
                raise SchemeFormatError(
                    f"{name} has shape {got}, expected {shape} for format {n}x{m}x{p}"
                )

    @property
    def rank(self) -> int:
        """Number of products (slots)."""
        return int(self.U.shape[0])

    def as_float(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """U, V, W as float64 arrays."""
        return tuple(np.asarray(x, dtype=np.float64) for x in (self.U, self.V, self.W))

    def is_integral(self) -> bool:
        """True when every coefficient is an integer."""
        return all(x.denominator == 1 for t in (self.U, self.V, self.W) for x in t.flat)

    def nonzeros(self) -> int:
        """Number of nonzero coefficients over U, V and W."""
        return int(sum(x != 0 for t in (self.U, self.V, self.W) for x in t.flat))


def to_fractions(values, name: str = "array") -> np.ndarray:
    """Convert an array-like of ints, floats, Fractions or 'p/q' strings to an exact Fraction array.

    Floats are converted exactly (binary value); non-finite or non-numeric entries raise
    :class:`SchemeFormatError`.
    """
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 2:
        raise SchemeFormatError(f"{name} must be a 2-D array, got {arr.ndim} dimension(s)")
    if arr.size == 0:
        raise SchemeFormatError(f"{name} is empty")
    return np.frompyfunc(lambda x: _fraction(x, name), 1, 1)(arr).astype(object)


def _fraction(x, name: str) -> Fraction:
    if isinstance(x, bool | np.bool_):
        raise SchemeFormatError(f"{name} holds a boolean, not a number")
    if isinstance(x, Fraction):
        return check_magnitude(x, f"a coefficient of {name}")
    if isinstance(x, int | np.integer):
        return check_magnitude(Fraction(int(x)), f"a coefficient of {name}")
    if isinstance(x, float | np.floating):
        if not math.isfinite(float(x)):
            raise SchemeFormatError(f"{name} holds a non-finite value {x}")
        return Fraction(float(x))
    if isinstance(x, str):
        return parse_number(x, f"a coefficient of {name}")
    raise SchemeFormatError(f"{name} holds a non-numeric value {x!r}")


def matmul_tensor(n: int, m: int, p: int) -> np.ndarray:
    """The <n,m,p> matrix-multiplication tensor T (nm, mp, np) in the project's convention.

    T[i*m+j, j*p+k, i*p+k] = 1: entry (i,k) of C receives A[i,j] * B[j,k].
    """
    T = np.zeros((n * m, m * p, n * p), dtype=np.int64)
    for i in range(n):
        for j in range(m):
            for k in range(p):
                T[i * m + j, j * p + k, i * p + k] = 1
    return T


def _integer_scaled(arr: np.ndarray) -> tuple[np.ndarray, int]:
    """Return (integer object array, d) with arr == integer array / d exactly."""
    dens = np.frompyfunc(lambda x: x.denominator, 1, 1)(arr)
    d = math.lcm(*(int(x) for x in set(dens.flat))) if arr.size else 1
    return np.frompyfunc(lambda x: int(x * d), 1, 1)(arr).astype(object), d


def _integer_residual(scheme: Scheme) -> tuple[np.ndarray, int]:
    """(D, s) with D / s the exact residual; D is an int64 array when that is overflow-safe."""
    n, m, p = scheme.fmt
    (iu, du), (iv, dv), (iw, dw) = (_integer_scaled(t) for t in (scheme.U, scheme.V, scheme.W))
    scale = du * dv * dw
    bound = _bound(iu, iv, iw, scheme.rank, scale)
    target = matmul_tensor(n, m, p)
    if bound < 2**53:  # every partial sum is an integer float64 represents exactly: use BLAS
        u, v, w = (x.astype(np.float64) for x in (iu, iv, iw))
        prod = np.zeros((n * p, n * m * m * p))
        step = max(1, (1 << 22) // (n * m * m * p))  # products per chunk: ~32 MB of outer
        for r in range(0, scheme.rank, step):
            outer = (u[r:r + step, :, None] * v[r:r + step, None, :]).reshape(-1, n * m * m * p)
            prod += w[:, r:r + step] @ outer
        prod = prod.reshape(n * p, n * m, m * p).transpose(1, 2, 0)
        return np.rint(prod).astype(np.int64) - scale * target, scale
    prod = np.einsum("ri,rj,kr->ijk", iu, iv, iw)  # exact big-integer object arithmetic
    return prod - scale * target.astype(object), scale


def _bound(iu: np.ndarray, iv: np.ndarray, iw: np.ndarray, rank: int, scale: int) -> int:
    """A bound on every partial sum of the integer-scaled residual."""
    return (max(1, _max_abs(iu)) * max(1, _max_abs(iv)) * max(1, _max_abs(iw)) * rank + scale)


def exact_work(scheme: Scheme) -> int:
    """The big-integer operations exact verification needs, weighted by the integers' size in
    64-bit words; 0 when float64 arithmetic is exact (see _integer_residual)."""
    (iu, du), (iv, dv), (iw, dw) = (_integer_scaled(t) for t in (scheme.U, scheme.V, scheme.W))
    bound = _bound(iu, iv, iw, scheme.rank, du * dv * dw)
    if bound < 2**53:
        return 0
    n, m, p = scheme.fmt
    return scheme.rank * (n * m) * (m * p) * (n * p) * max(1, bound.bit_length() // 64)


def check_work(scheme: Scheme) -> None:
    """SchemeFormatError when verifying a scheme read from a file would take more than
    MAX_EXACT_WORK big-integer operations (large coefficients at a large format)."""
    work = exact_work(scheme)
    if work > MAX_EXACT_WORK:
        n, m, p = scheme.fmt
        raise SchemeFormatError(
            f"format {n}x{m}x{p} rank {scheme.rank} with coefficients past 2^53 needs {work:.2g} "
            f"big-integer operations to verify, beyond the limit of {MAX_EXACT_WORK:.0e}")


def _max_abs(arr: np.ndarray) -> int:
    return max((abs(int(x)) for x in arr.flat), default=0)


def residual(scheme: Scheme) -> np.ndarray:
    """Exact Brent-equation residual sum_r U[r] (x) V[r] (x) W[:,r] - T as a Fraction array."""
    diff, scale = _integer_residual(scheme)
    return np.frompyfunc(lambda v: Fraction(int(v), scale), 1, 1)(diff).astype(object)


def valid_modulo_2(scheme: Scheme) -> bool:
    """True iff every Brent equation holds modulo 2 (coefficients with odd denominators only)."""
    diff, scale = _integer_residual(scheme)
    return scale % 2 == 1 and not any(int(x) % 2 for x in diff.flat)


def verify(scheme: Scheme) -> bool:
    """True iff the scheme satisfies every Brent equation exactly (no tolerance)."""
    diff, _ = _integer_residual(scheme)
    return not np.any(diff != 0)


def strassen() -> Scheme:
    """Strassen's 1969 scheme for <2,2,2> at rank 7 (vec order a11 a12 a21 a22)."""
    U = [[1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1],
         [1, 1, 0, 0], [-1, 0, 1, 0], [0, 1, 0, -1]]
    V = [[1, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, -1], [-1, 0, 1, 0],
         [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]]
    W = [[1, 0, 0, 1, -1, 0, 1],
         [0, 0, 1, 0, 1, 0, 0],
         [0, 1, 0, 1, 0, 0, 0],
         [1, -1, 1, 0, 0, 1, 0]]
    return Scheme((2, 2, 2), U, V, W, {"source": "Strassen 1969"})


def naive(n: int, m: int, p: int) -> Scheme:
    """The classical scheme with n*m*p products."""
    rank = n * m * p
    U = np.zeros((rank, n * m), dtype=np.int64)
    V = np.zeros((rank, m * p), dtype=np.int64)
    W = np.zeros((n * p, rank), dtype=np.int64)
    r = 0
    for i in range(n):
        for j in range(m):
            for k in range(p):
                U[r, i * m + j] = V[r, j * p + k] = W[i * p + k, r] = 1
                r += 1
    return Scheme((n, m, p), U, V, W, {"source": "classical"})


def canonical(scheme: Scheme) -> Scheme:
    """The canonical form: within each slot the first nonzero of U and of V is positive (signs
    moved into W), then slots are sorted by (U row, V row, W column)."""
    U, V, W = scheme.U.copy(), scheme.V.copy(), scheme.W.copy()
    for r in range(scheme.rank):
        for X in (U, V):
            nz = [x for x in X[r] if x != 0]
            if nz and nz[0] < 0:
                X[r] = -X[r]
                W[:, r] = -W[:, r]
    order = sorted(range(scheme.rank), key=lambda r: (tuple(U[r]), tuple(V[r]), tuple(W[:, r])))
    return Scheme(scheme.fmt, U[order], V[order], W[:, order], dict(scheme.provenance))


def encode_fraction(x: Fraction):
    """A rational as JSON: an int when integral, else the string "p/q"."""
    return int(x) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
