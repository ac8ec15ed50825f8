"""Format ``exp``: the flip-graph text, one product per line, `(form in aIJ)*(form in bJK)*(form
in cKI)`, 1-based one-digit indices, the third factor indexing C transposed (the coefficient of
`cKI` is the product's weight in C[I][K]).  Lines are parsed as rational arithmetic of linear
forms, so scaled, nested and divided factors (`(3*(a11 - a12))*(b21)*(c12)/3`) read as published;
a constant times one form is folded into that form, and a scale of the whole product goes to U.
Every number and intermediate value is bounded (schemes.MAX_DIGITS) and products past MAX_RANK are
refused as soon as they are seen, so parsing is linear in the input.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from bilinear.algebra.formats.reading import Reading
from bilinear.algebra.schemes import (
    MAX_RANK,
    Scheme,
    SchemeFormatError,
    check_limits,
    check_magnitude,
    parse_number,
)

NAME = "exp"
SUFFIX = ".exp"
BINARY = False

MAX_DEPTH = 50  # parenthesis nesting accepted in a line

_TOKEN = re.compile(r"\s*(?:(\d+)|([abc])(\d+)|([-+*/()]))")


class _Value:
    """A parsed sub-expression: scale times the product of linear forms, one per letter."""

    def __init__(self, scale: Fraction, forms: dict) -> None:
        self.scale, self.forms = scale, forms


def _fold(value: _Value) -> _Value:
    """Move the scale of a single linear form into its coefficients (so `2*a11` is U = 2)."""
    check_magnitude(value.scale)
    if len(value.forms) != 1 or value.scale == 1:
        return value
    ((letter, form),) = value.forms.items()
    return _Value(Fraction(1), {letter: {v: check_magnitude(c * value.scale)
                                         for v, c in form.items()}})


def _add(x: _Value, y: _Value, sign: int) -> _Value:
    if set(x.forms) != set(y.forms):
        raise SchemeFormatError("adds terms of different kinds (not a linear form)")
    if not x.forms:
        return _Value(check_magnitude(x.scale + sign * y.scale), {})
    if len(x.forms) > 1:
        raise SchemeFormatError("adds two products (one product per line expected)")
    (letter,) = x.forms
    out = {v: check_magnitude(c * x.scale) for v, c in x.forms[letter].items()}
    for v, c in y.forms[letter].items():
        out[v] = check_magnitude(out.get(v, 0) + sign * c * y.scale)
    return _Value(Fraction(1), {letter: out})


def _mul(x: _Value, y: _Value) -> _Value:
    if set(x.forms) & set(y.forms):
        raise SchemeFormatError("multiplies two forms in the same matrix (not bilinear)")
    return _fold(_Value(x.scale * y.scale, {**x.forms, **y.forms}))


class _ExpParser:
    """Recursive-descent parser of one .exp line (+, -, *, /, parentheses, integers, aIJ)."""

    def __init__(self, line: str) -> None:
        self.tokens, pos = [], 0
        while pos < len(line):
            match = _TOKEN.match(line, pos)
            if not match:
                if line[pos:].strip() == "":
                    break
                raise SchemeFormatError(f"unexpected character {line[pos:].strip()[0]!r}")
            num, letter, idx, op = match.groups()
            if letter is not None:
                if len(idx) != 2 or "0" in idx:
                    raise SchemeFormatError(
                        f"index {letter}{idx} is not two digits 1-9 (formats above 9, with "
                        "multi-digit indices, are not supported in .exp)")
                self.tokens.append(("var", (letter, int(idx[0]), int(idx[1]))))
            elif num is not None:
                self.tokens.append(("num", parse_number(num, "a number")))
            else:
                self.tokens.append(("op", op))
            pos = match.end()
        self.pos, self.depth = 0, 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", None)

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def parse(self) -> _Value:
        value = self.expr()
        if self.peek()[0] != "end":
            raise SchemeFormatError(f"unexpected {self.peek()[1]!r}")
        return value

    def expr(self) -> _Value:
        value = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            sign = 1 if self.take()[1] == "+" else -1
            value = _add(value, self.term(), sign)
        return value

    def term(self) -> _Value:
        value = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            right = self.unary()
            if op == "*":
                value = _mul(value, right)
            elif right.forms or right.scale == 0:
                raise SchemeFormatError("divides by a form or by zero")
            else:
                value = _fold(_Value(value.scale / right.scale, value.forms))
        return value

    def unary(self) -> _Value:
        if self.peek() in (("op", "-"), ("op", "+")):
            sign = -1 if self.take()[1] == "-" else 1
            value = self.unary()
            return _fold(_Value(sign * value.scale, value.forms))
        return self.atom()

    def atom(self) -> _Value:
        kind, val = self.take()
        if kind == "num":
            return _Value(val, {})
        if kind == "var":
            letter, i, j = val
            return _Value(Fraction(1), {letter: {(i, j): Fraction(1)}})
        if (kind, val) == ("op", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise SchemeFormatError(f"parentheses nested deeper than {MAX_DEPTH}")
            value = self.expr()
            if self.take() != ("op", ")"):
                raise SchemeFormatError("unbalanced parentheses")
            self.depth -= 1
            return value
        raise SchemeFormatError(f"unexpected {'end of line' if kind == 'end' else repr(val)}")


def detect(text: str) -> bool:
    """Whether stripped text looks like products of aIJ, bJK and cKI forms."""
    return bool(re.search(r"[abc]\d", text)) and "*" in text


def read(text: str) -> Reading:
    """The scheme of .exp text."""
    return Reading(parse(text), NAME)


def parse(text: str) -> Scheme:
    """Parse .exp text into a scheme; SchemeFormatError names the offending line."""
    products = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = _ExpParser(line).parse()
        except SchemeFormatError as exc:
            raise SchemeFormatError(f"line {number}: {exc}") from None
        if set(value.forms) != {"a", "b", "c"}:
            raise SchemeFormatError(f"line {number}: not a product of an a-, b- and c-form")
        products.append(value)
        if len(products) > MAX_RANK:
            check_limits((1, 1, 1), len(products))
    if not products:
        raise SchemeFormatError("holds no products")
    idx = {k: [v for p in products for v in p.forms[k]] for k in "abc"}
    n = max([i for i, _ in idx["a"]] + [i for _, i in idx["c"]])
    m = max([j for _, j in idx["a"]] + [j for j, _ in idx["b"]])
    p = max([k for _, k in idx["b"]] + [k for k, _ in idx["c"]])
    rank = len(products)
    U = np.full((rank, n * m), Fraction(0), dtype=object)
    V = np.full((rank, m * p), Fraction(0), dtype=object)
    W = np.full((n * p, rank), Fraction(0), dtype=object)
    for r, prod in enumerate(products):
        for (i, j), c in prod.forms["a"].items():
            U[r, (i - 1) * m + j - 1] = c * prod.scale
        for (j, k), c in prod.forms["b"].items():
            V[r, (j - 1) * p + k - 1] = c
        for (k, i), c in prod.forms["c"].items():
            W[(i - 1) * p + k - 1, r] = c  # c_ki is the weight in C[i][k]
    return Scheme((n, m, p), U, V, W)


def _exp_form(letter: str, coeffs: dict) -> str:
    text = ""
    for (x, y), c in sorted(coeffs.items()):
        mag = abs(c)
        num = "" if mag == 1 else f"{mag.numerator}*" if mag.denominator == 1 else f"{mag}*"
        sign = "-" if c < 0 else "+"
        text += (f" {sign} " if text else ("-" if c < 0 else "")) + f"{num}{letter}{x}{y}"
    return f"({text})"


def write(scheme: Scheme) -> str:
    """The scheme as .exp text (products with a zero factor, which contribute nothing, are
    left out); formats above 9 are refused."""
    n, m, p = scheme.fmt
    if max(scheme.fmt) > 9:
        raise SchemeFormatError(f"format {n}x{m}x{p} needs multi-digit indices; .exp holds 1-9")
    lines = []
    for r in range(scheme.rank):
        a = {(i + 1, j + 1): scheme.U[r, i * m + j] for i in range(n) for j in range(m)}
        b = {(j + 1, k + 1): scheme.V[r, j * p + k] for j in range(m) for k in range(p)}
        c = {(k + 1, i + 1): scheme.W[i * p + k, r] for i in range(n) for k in range(p)}
        forms = [{v: x for v, x in f.items() if x != 0} for f in (a, b, c)]
        if all(forms):
            lines.append("*".join(_exp_form(ch, f) for ch, f in zip("abc", forms, strict=True)))
    return "\n".join(lines) + "\n"
