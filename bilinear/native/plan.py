"""One recursion level of a scheme as an execution plan: operand temporaries, product table and
common-subexpression-eliminated linear combinations, computed exactly before any C is emitted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from bilinear.algebra.schemes import Scheme, verify

MAX_COEFF = 64  # largest |numerator| and denominator accepted in a compiled scheme


class SchemeCompileError(ValueError):
    """A scheme that cannot be compiled (incorrect, degenerate or with unsuitable coefficients)."""


@dataclass(frozen=True)
class Combination:
    """Targets as linear combinations of inputs, rewritten with shared pairwise subexpressions.

    defs[i] = (a, b, c) defines variable n_inputs + i as v_a + c * v_b; outputs[t] is a list of
    (variable, coefficient) whose sum is target t.
    """

    n_inputs: int
    defs: tuple
    outputs: tuple

    def additions(self) -> int:
        """Scalar additions per element: one per definition plus (terms - 1) per output."""
        return len(self.defs) + sum(max(len(o) - 1, 0) for o in self.outputs)


@dataclass(frozen=True)
class Slot:
    """One product: operands (('temp', i) or ('block', j)), scale, and destinations in C."""

    a: tuple
    b: tuple
    scale: Fraction
    dests: tuple  # ((c_block, coefficient), ...)


@dataclass(frozen=True)
class Plan:
    """Everything the C generator needs for one level of the scheme."""

    fmt: tuple
    slots: tuple
    form_a: Combination  # inputs: A blocks, outputs: A temporaries
    form_b: Combination  # inputs: B blocks, outputs: B temporaries
    multi: tuple  # slot indices whose product goes to an X temporary (several destinations)
    single: tuple  # slot indices accumulated straight into their one C block
    combine: Combination  # inputs: X temporaries, outputs: the n*p C blocks (may be empty)

    def additions(self) -> int:
        """Block additions per level (products accumulated by gemm with beta=1 not counted)."""
        return self.form_a.additions() + self.form_b.additions() + self.combine.additions()


def validate(scheme: Scheme, exact: bool = True) -> Scheme:
    """Check that a scheme is exact and compilable; return it without useless slots.

    Raises SchemeCompileError for an incorrect scheme or coefficients outside the accepted range.
    exact=False skips the Brent check: a bilinear map that is no product (an alternative-basis
    core, bilinear.algebra.basis).
    """
    if exact and not verify(scheme):
        raise SchemeCompileError("scheme fails the exact Brent-equation check")
    for name in ("U", "V", "W"):
        for x in getattr(scheme, name).flat:
            if abs(x.numerator) > MAX_COEFF or x.denominator > MAX_COEFF:
                raise SchemeCompileError(
                    f"{name} coefficient {x} outside +-{MAX_COEFF}/{MAX_COEFF}")
    keep = [r for r in range(scheme.rank)
            if any(scheme.U[r]) and any(scheme.V[r]) and any(scheme.W[:, r])]
    return Scheme(scheme.fmt, scheme.U[keep], scheme.V[keep], scheme.W[:, keep],
                  dict(scheme.provenance))


def _normalize(row) -> tuple[tuple, Fraction]:
    """(row / first nonzero, first nonzero)."""
    lead = next(x for x in row if x != 0)
    return tuple(Fraction(x) / lead for x in row), Fraction(lead)


def _operands(rows) -> tuple[list, list, list]:
    """Per row: ('block', j) if a scaled unit vector, else ('temp', i); the scales; temp rows."""
    temps: dict[tuple, int] = {}
    refs, scales = [], []
    for row in rows:
        norm, lead = _normalize(row)
        nonzero = [j for j, x in enumerate(norm) if x != 0]
        if len(nonzero) == 1:
            refs.append(("block", nonzero[0]))
        else:
            refs.append(("temp", temps.setdefault(norm, len(temps))))
        scales.append(lead)
    return refs, scales, list(temps)


def cse(targets: list[dict[int, Fraction]], n_inputs: int) -> Combination:
    """Greedy pairwise common-subexpression elimination over linear combinations.

    Repeatedly replaces the pair (v_a + c v_b) that occurs most often (at least twice, up to a
    common factor) by a new variable; deterministic (ties broken by the smallest pair).
    """
    targets = [dict(t) for t in targets]
    defs = []
    while True:
        counts: Counter = Counter()
        for t in targets:
            keys = sorted(t)
            for i, a in enumerate(keys):
                for b in keys[i + 1:]:
                    counts[(a, b, t[b] / t[a])] += 1
        best = max(counts.items(), key=lambda kv: (kv[1], [-x for x in kv[0][:2]], -kv[0][2]),
                   default=None)
        if best is None or best[1] < 2:
            break
        (a, b, c), _ = best
        new = n_inputs + len(defs)
        defs.append((a, b, c))
        for t in targets:
            if a in t and b in t and t[b] / t[a] == c:
                t[new] = t.pop(a)
                del t[b]
    outputs = tuple(tuple(sorted(t.items())) for t in targets)
    return Combination(n_inputs, tuple(defs), outputs)


def make_plan(scheme: Scheme, exact: bool = True) -> Plan:
    """Validate a scheme (see validate) and build its one-level plan."""
    scheme = validate(scheme, exact)
    n, m, p = scheme.fmt
    a_refs, a_scales, a_temps = _operands(scheme.U)
    b_refs, b_scales, b_temps = _operands(scheme.V)
    slots = []
    for r in range(scheme.rank):
        dests = tuple((d, Fraction(scheme.W[d, r])) for d in range(n * p) if scheme.W[d, r] != 0)
        slots.append(Slot(a_refs[r], b_refs[r], a_scales[r] * b_scales[r], dests))
    multi = tuple(r for r, s in enumerate(slots) if len(s.dests) > 1)
    single = tuple(r for r, s in enumerate(slots) if len(s.dests) == 1)
    rows = [{i: c for i, c in enumerate(row) if c != 0} for row in a_temps]
    form_a = cse(rows, n * m)
    form_b = cse([{i: c for i, c in enumerate(row) if c != 0} for row in b_temps], m * p)
    combine_targets = [
        {x: coeff for x, r in enumerate(multi) for d2, coeff in slots[r].dests if d2 == d}
        for d in range(n * p)]
    combine = cse(combine_targets, len(multi))
    return Plan((n, m, p), tuple(slots), form_a, form_b, multi, single, combine)
