"""Published scheme formats: round trips, conventions, mod-2 reporting and hostile input."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bilinear.algebra.formats import WRITERS, read_scheme_file
from bilinear.algebra.formats.npz import load_npz_scheme
from bilinear.algebra.formats.project_json import scheme_to_json
from bilinear.algebra.schemes import Scheme, SchemeFormatError, strassen, valid_modulo_2, verify
from bilinear.cli import main
from tests.test_schemes import known_schemes_npz

TEXT_FORMATS = sorted(WRITERS)


def known() -> dict[str, Scheme]:
    npz = known_schemes_npz()
    return {"strassen": strassen(), "3x3x3": load_npz_scheme(npz, "3x3x3"),
            "4x4x4": load_npz_scheme(npz, "4x4x4")}


KNOWN = known()


def canonical_bytes(scheme: Scheme) -> str:
    return scheme_to_json(Scheme(scheme.fmt, scheme.U, scheme.V, scheme.W, {}))


def write(tmp_path, scheme: Scheme, fmt: str):
    path = tmp_path / f"scheme.{fmt}"
    path.write_text(WRITERS[fmt](scheme))
    return path


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("name", sorted(KNOWN))
def test_round_trip_same_canonical_bytes(tmp_path, fmt, name):
    scheme = KNOWN[name]
    reading = read_scheme_file(write(tmp_path, scheme, fmt))
    assert reading.format == fmt
    assert verify(reading.scheme)
    assert canonical_bytes(reading.scheme) == canonical_bytes(scheme)


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("name", sorted(KNOWN))
def test_one_changed_coefficient_fails(tmp_path, capsys, fmt, name):
    broken = KNOWN[name]
    broken = Scheme(broken.fmt, broken.U.copy(), broken.V, broken.W)
    broken.U[0, 0] += 1
    code = main(["verify", str(write(tmp_path, broken, fmt))])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("incorrect:") and "modulo 2" not in out


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_mod2_only_scheme_reported(tmp_path, capsys, fmt):
    mod2 = strassen()
    mod2.U[0, 0] += 2  # changes the residual by even integers only
    assert not verify(mod2) and valid_modulo_2(mod2)
    code = main(["verify", str(write(tmp_path, mod2, fmt))])
    out = capsys.readouterr().out
    assert code == 1 and out.count("\n") == 1 and "valid modulo 2 only" in out


def test_ternary_json_declared_z2(tmp_path, capsys):
    mod2 = strassen()
    mod2.V[1, 0] = 3
    doc = json.loads(WRITERS["ternary-json"](mod2))
    doc["z2"] = True
    path = tmp_path / "z2.json"
    path.write_text(json.dumps(doc))
    reading = read_scheme_file(path)
    assert reading.declared_mod2
    assert main(["verify", str(path)]) == 1 and "valid modulo 2 only" in capsys.readouterr().out


def _transpose_c_exp(text: str) -> str:
    return re.sub(r"c(\d)(\d)", r"c\2\1", text)


def _untranspose_ternary_w(text: str, n: int, p: int) -> str:
    doc = json.loads(text)
    doc["w"] = [[row[k * n + i] for i in range(n) for k in range(p)] for row in doc["w"]]
    return json.dumps(doc)


def _transpose_maple_w(text: str) -> str:
    def flip(match):
        rows = [r.split(",") for r in re.findall(r"\[([^\[\]]*)\]", match.group(3))]
        cols = ["[" + ",".join(r[j] for r in rows) + "]" for j in range(len(rows[0]))]
        return f"Matrix({match.group(2)}, {match.group(1)}, [{','.join(cols)}])"

    def triad(match):
        mats = re.split(r"(?<=\]\]\)), ", match.group(1))
        mats[2] = re.sub(r"Matrix\((\d+), (\d+), \[(.*)\]\)", flip, mats[2])
        return "Triad([" + ", ".join(mats) + "])"

    return re.sub(r"Triad\(\[(.*?\]\]\))\]\)", triad, text)


@pytest.mark.parametrize("fmt", ["exp", "ternary-json", "maple"])
def test_transposed_convention_does_not_verify(tmp_path, fmt):
    """Reading the C factor untransposed (the classic mistake) breaks a correct scheme."""
    scheme = KNOWN["3x3x3"]
    text = WRITERS[fmt](scheme)
    wrong = {"exp": _transpose_c_exp, "maple": _transpose_maple_w,
             "ternary-json": lambda t: _untranspose_ternary_w(t, 3, 3)}[fmt](text)
    assert wrong != text
    path = tmp_path / "wrong.txt"
    path.write_text(wrong)
    assert verify(read_scheme_file(write(tmp_path, scheme, fmt)).scheme)
    assert not verify(read_scheme_file(path).scheme)


def test_exp_arithmetic_forms(tmp_path):
    """Scaled and nested factors, bare variables and a trailing division, as published."""
    lines = ["(3*(a11 + a22))*(b11 + b22)*(c11 + c22)/3", "(a21 + a22)*b11*(c12 - c22)",
             "a11*(b12 - b22)*(c21 + c22)", "(a22)*(-b11 + b21)*(c11 + c12)",
             "(a11 + a12)*(2*b22/2)*(-c11 + c21)", "(-a11 + a21)*(b11 + b12)*(c22)",
             "(a12 - a22)*(b21 + b22)*(1/2*(2*c11))"]
    path = tmp_path / "s.exp"
    path.write_text("\n".join(lines) + "\n")
    reading = read_scheme_file(path)
    assert reading.scheme.fmt == (2, 2, 2) and verify(reading.scheme)
    assert canonical_bytes(reading.scheme) == canonical_bytes(strassen())
    lines[4] = "(a11 + a12)*(2*b22)*(-c11 + c21)/2"  # a scale of the whole product goes to U
    path.write_text("\n".join(lines) + "\n")
    reading = read_scheme_file(path)
    assert verify(reading.scheme) and reading.scheme.U[4, 0] == Fraction(1, 2)


def test_exp_refuses_multi_digit_and_big_formats(tmp_path):
    path = tmp_path / "big.exp"
    path.write_text("(a110)*(b11)*(c11)\n")
    with pytest.raises(SchemeFormatError, match="multi-digit"):
        read_scheme_file(path)
    big = Scheme((10, 1, 1), np.eye(10, dtype=int)[:, :10], np.ones((10, 1), dtype=int),
                 np.eye(10, dtype=int))
    with pytest.raises(SchemeFormatError, match="multi-digit"):
        WRITERS["exp"](big)


def test_maple_rational_entries(tmp_path):
    half = Scheme((1, 1, 1), [[2]], [[1]], [[1]])
    half.U[0, 0] = half.U[0, 0] / 4
    half.W[0, 0] = half.W[0, 0] * 2
    text = WRITERS["maple"](half)
    assert "1/2" in text
    path = tmp_path / "h.mpl"
    path.write_text(text.replace("[[1]]), Matrix(1, 1, [[2]])", "[[1]]), Matrix(1, 1, [[-1/2]])"))
    reading = read_scheme_file(path)
    assert reading.scheme.W[0, 0] == -0.5 and not verify(reading.scheme)


SEEDS = {fmt: WRITERS[fmt](KNOWN["strassen"]) for fmt in TEXT_FORMATS}


def _verify_exit(tmp_path, capsys, data: bytes) -> None:
    path = tmp_path / "fuzz"
    path.write_bytes(data)
    code = main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    text = out if code != 2 else err
    assert out.count("\n") + err.count("\n") == 1 and text.endswith("\n")
    if code == 2:
        assert err.startswith("error:") and str(path) in err


FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(fmt=st.sampled_from(TEXT_FORMATS), cut=st.integers(0, 10_000),
       pos=st.integers(0, 10_000), junk=st.binary(max_size=8))
def test_mutated_files_end_in_one_line(tmp_path, capsys, fmt, cut, pos, junk):
    raw = SEEDS[fmt].encode()
    raw = raw[: cut % (len(raw) + 1)] if cut % 3 == 0 else raw
    at = pos % (len(raw) + 1)
    _verify_exit(tmp_path, capsys, raw[:at] + junk + raw[at + len(junk):])


@FUZZ
@given(data=st.one_of(st.binary(max_size=200),
                      st.text(alphabet="abc0123456789+-*/() \n{}[]\":,TriadSetMx", max_size=200)
                      .map(str.encode)))
def test_random_files_end_in_one_line(tmp_path, capsys, data):
    _verify_exit(tmp_path, capsys, data)


def test_convert_and_info(tmp_path, capsys):
    npz = str(known_schemes_npz())
    out = tmp_path / "s.exp"
    assert main(["convert", npz, str(out), "--key", "3x3x3"]) == 0
    assert read_scheme_file(out).format == "exp"
    assert main(["convert", str(out), str(tmp_path / "s.json")]) == 0
    assert main(["convert", str(out), str(tmp_path / "t.json"), "--to", "ternary-json"]) == 0
    assert read_scheme_file(tmp_path / "t.json").format == "ternary-json"
    assert canonical_bytes(read_scheme_file(tmp_path / "s.json").scheme) == \
        canonical_bytes(KNOWN["3x3x3"])
    assert main(["convert", str(out), str(tmp_path / "s.txt")]) == 2
    capsys.readouterr()
    assert main(["info", str(write(tmp_path, strassen(), "maple"))]) == 0
    info = capsys.readouterr().out
    for needle in ("format: maple", "rank: 7", "coefficients: ternary", "nonzeros: 36",
                   "block additions per level (after CSE): ", "fingerprint: 2x2x2-r7-",
                   "(1, 1, 1) x6, (2, 2, 2) x1", "Strassen witness: P="):
        assert needle in info
    rational = Scheme((1, 1, 1), [[2]], [[1]], [[1]])
    rational.W[0, 0] = rational.W[0, 0] / 2
    assert main(["info", str(write(tmp_path, rational, "exp"))]) == 0
    assert "coefficients: rational" in capsys.readouterr().out


def test_compile_refuses_incorrect_scheme(tmp_path, capsys):
    broken = strassen()
    broken.W[0, 0] = 0
    assert main(["compile", str(write(tmp_path, broken, "exp")), "--out",
                 str(tmp_path / "build")]) == 1
    assert "not compiled" in capsys.readouterr().out and not (tmp_path / "build").exists()


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_rational_round_trip(tmp_path, fmt):
    scheme = KNOWN["strassen"]
    scheme = Scheme(scheme.fmt, scheme.U * 2, scheme.V, scheme.W.copy())
    scheme.W[:, :] = scheme.W / 2
    reading = read_scheme_file(write(tmp_path, scheme, fmt))
    assert verify(reading.scheme)
    assert canonical_bytes(reading.scheme) == canonical_bytes(scheme)


def _npz_seed() -> bytes:
    import io

    from tests.test_schemes import plain_arrays

    buf = io.BytesIO()
    np.savez(buf, **plain_arrays(strassen(), "2x2x2"))
    return buf.getvalue()


NPZ_SEED = _npz_seed()


@FUZZ
@given(cut=st.integers(0, 10_000), pos=st.integers(0, 10_000), junk=st.binary(min_size=1,
                                                                                max_size=8))
def test_mutated_npz_ends_in_one_line(tmp_path, capsys, cut, pos, junk):
    raw = NPZ_SEED[: cut % (len(NPZ_SEED) + 1)] if cut % 2 else NPZ_SEED
    at = pos % (len(raw) + 1)
    path = tmp_path / "fuzz.npz"
    path.write_bytes(raw[:at] + junk + raw[at + len(junk):])
    code = main(["verify", str(path), "--key", "2x2x2"])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2) and out.count("\n") + err.count("\n") == 1
    assert code != 2 or (err.startswith("error:") and str(path) in err)


def test_compile_published_format(tmp_path, capsys):
    """A scheme in a published format compiles into a kernel that multiplies correctly."""
    from bilinear.native.kernel import Kernel

    out = tmp_path / "build"
    assert main(["compile", str(write(tmp_path, strassen(), "maple")), "--out", str(out)]) == 0
    assert "compiled" in capsys.readouterr().out
    kernel = Kernel(str(out))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(64, 64)), rng.normal(size=(64, 64))
    assert np.allclose(kernel.matmul(a, b, threads=1, levels=2), a @ b)  # two Strassen levels
