"""The seeded cases of the command-line fuzz campaign (tests/test_fuzz_cli.py).

A case writes its input files into an empty folder and returns the arguments of
`python -m bilinear`; it names the exit codes it may end with and the files it may create.
Categories: mutated files of every format, hostile contents, special files, unwritable outputs,
bad arguments and random files (the strategies of tests/test_formats.py, drawn by a seeded
generator so that every case is one named test).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bilinear.algebra.formats import FORMATS, WRITERS
from bilinear.algebra.schemes import strassen

BIG = "9" * 4301  # past Python's 4300-digit int conversion limit
FILE_COMMANDS = ("verify", "info", "convert")


@dataclass
class Case:
    """One campaign case: category, name, build(root) -> argv, allowed exit codes, files it may
    create (relative to root)."""

    category: str
    name: str
    build: Callable[[Path], list[str]]
    codes: tuple[int, ...] = (2,)
    creates: tuple[str, ...] = ()


def _plain_npz(**override) -> bytes:
    from tests.test_schemes import plain_arrays

    arrays = {**plain_arrays(strassen(), "2x2x2"), **override}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


SEEDS = {name: WRITERS[name](strassen()).encode() for name in WRITERS}
SEEDS["npz"] = _plain_npz()
SUFFIX = {"npz": ".npz", "json": ".json", "ternary-json": ".json", "maple": ".mpl", "exp": ".exp"}
assert set(SEEDS) == set(FORMATS)


def _file_case(category: str, name: str, filename: str, data: bytes, command: str,
               codes: tuple[int, ...], key: str | None = None) -> Case:
    """A case that writes data to filename and runs command on it (convert writes out.json)."""

    def build(root: Path) -> list[str]:
        (root / filename).write_bytes(data)
        extra = ["--key", key] if key else []
        if command == "convert":
            return ["convert", str(root / filename), str(root / "out.json"), *extra]
        return [command, str(root / filename), *extra]

    return Case(category, name, build, codes, ("out.json",) if command == "convert" else ())


def _mutate(raw: bytes, rnd: random.Random) -> bytes:
    """One seeded mutation: truncate, insert junk, flip a byte, duplicate or delete a slice,
    or replace a digit with a 4301-digit number."""
    how = rnd.randrange(6)
    at = rnd.randrange(len(raw) + 1)
    if how == 0:
        return raw[:at]
    if how == 1:
        return raw[:at] + rnd.randbytes(rnd.randint(1, 8)) + raw[at:]
    if how == 2 and raw:
        at = min(at, len(raw) - 1)
        return raw[:at] + bytes([raw[at] ^ (1 << rnd.randrange(8))]) + raw[at + 1:]
    if how == 3:
        end = min(len(raw), at + rnd.randint(1, 200))
        return raw[:end] + raw[at:end] + raw[end:]
    if how == 4:
        return raw[:at] + raw[at + rnd.randint(1, 64):]
    digits = [i for i, b in enumerate(raw) if chr(b).isdigit()]
    i = rnd.choice(digits) if digits else at
    return raw[:i] + BIG.encode() + raw[i + 1:]


def mutation_cases(per_format: int = 12) -> list[Case]:
    """Seeded mutations of a valid file of every format, run through verify, info and convert."""
    rnd = random.Random(23)
    cases = []
    for fmt in sorted(SEEDS):
        for k in range(per_format):
            data = _mutate(SEEDS[fmt], rnd)
            cases.append(_file_case("mutation", f"{fmt}-{k}", f"in{SUFFIX[fmt]}", data,
                                    FILE_COMMANDS[k % 3], (0, 1, 2),
                                    "2x2x2" if fmt == "npz" else None))
    return cases


def _json(**doc) -> str:
    base = {"format": [2, 2, 2], "U": [[1, 0, 0, 1]], "V": [[1, 0, 0, 1]],
            "W": [[1], [0], [0], [1]]}
    return json.dumps({**base, **doc})


def _maple(*mats: str) -> str:
    return f"Tensor := TriadSet([Triad([{', '.join(mats)}])]);"


M40 = "Matrix(40, 40, [" + ",".join("[" + ",".join("0" * 40) + "]" for _ in range(40)) + "])"
HOSTILE_TEXT = {
    "json-big-int": '{"format": [1, 1, 1], "U": [[' + BIG + ']], "V": [[1]], "W": [[1]]}',
    "json-big-fraction": _json(U=[["1/" + BIG, 0, 0, 1]]),
    "json-nan": _json().replace('"U": [[1', '"U": [[NaN'),
    "json-infinity": _json().replace('"U": [[1', '"U": [[Infinity'),
    "json-overflow-float": _json().replace('"U": [[1', '"U": [[1e400'),
    "json-zero-format": _json(format=[0, 2, 2]),
    "json-negative-format": _json(format=[-1, 2, 2]),
    "json-two-sides": _json(format=[2, 2]),
    "json-bool-format": _json(format=[True, 2, 2]),
    "json-40x40x40": _json(format=[40, 40, 40], U=[[1]], V=[[1]], W=[[1]]),
    "json-side-17": _json(format=[17, 1, 1], U=[[1] * 17], V=[[1]], W=[[1]] * 17),
    "json-product-2304": _json(format=[12, 12, 16], U=[[1]], V=[[1]], W=[[1]]),
    "json-empty-u": _json(U=[], V=[], W=[]),
    "json-empty-rows": _json(U=[[]], V=[[]], W=[[]]),
    "json-ragged": _json(U=[[1, 0, 0, 1], [1]]),
    "json-strings": _json(U=[["x", 0, 0, 1]]),
    "json-divide-by-zero": _json(U=[["1/0", 0, 0, 1]]),
    "json-booleans": _json(U=[[True, 0, 0, 1]]),
    "json-nulls": _json(U=[[None, 0, 0, 1]]),
    "json-nested-entries": _json(U=[[[1], 0, 0, 1]]),
    "json-deep-nesting": '{"format": [2, 2, 2], "U": ' + "[" * 100000 + "]" * 100000 + "}",
    "json-rank-2100": _json(U=[[1, 0, 0, 1]] * 2100, V=[[1, 0, 0, 1]] * 2100,
                           W=[[1] * 2100, [0] * 2100, [0] * 2100, [1] * 2100]),
    "json-rank-mismatch": _json(rank=3),
    "json-not-object": "[1, 2, 3]",
    "json-u-dict": _json(U={"a": 1}),
    "ternary-40x40x40": '{"n": [40, 40, 40], "u": [[1]], "v": [[1]], "w": [[1]]}',
    "ternary-big-int": '{"n": [1, 1, 1], "u": [[' + BIG + ']], "v": [[1]], "w": [[1]]}',
    "ternary-wrong-width": '{"n": [2, 2, 2], "u": [[1, 0]], "v": [[1]], "w": [[1]]}',
    "ternary-z2-string": '{"n": [1, 1, 1], "u": [[1]], "v": [[1]], "w": [[1]], "z2": "yes"}',
    "ternary-rank-2100": json.dumps({"n": [1, 1, 1], "u": [[1]] * 2100, "v": [[1]] * 2100,
                                    "w": [[1]] * 2100}),
    "maple-empty-matrix": _maple("Matrix(0, 0, [])", "Matrix(0, 0, [])", "Matrix(0, 0, [])"),
    "maple-huge-rows": _maple("Matrix(99999999, 1, [])", "Matrix(1, 1, [[1]])",
                              "Matrix(1, 1, [[1]])"),
    "maple-parametric": _maple("Matrix(1, 1, [[x]])", "Matrix(1, 1, [[1]])",
                               "Matrix(1, 1, [[1]])"),
    "maple-divide-by-zero": _maple("Matrix(1, 1, [[1/0]])", "Matrix(1, 1, [[1]])",
                                   "Matrix(1, 1, [[1]])"),
    "maple-unclosed": "Tensor := TriadSet([Triad([" + "Matrix(1, 1, [[1]]" * 3000,
    "maple-big-int": _maple(f"Matrix(1, 1, [[{BIG}]])", "Matrix(1, 1, [[1]])",
                            "Matrix(1, 1, [[1]])"),
    "maple-40x40x40": _maple(M40, M40, M40),
    "maple-rank-2100": "Tensor := TriadSet([" + ", ".join(
        ["Triad([Matrix(1, 1, [[1]]), Matrix(1, 1, [[1]]), Matrix(1, 1, [[1]])])"] * 2100) + "]);",
    "maple-shapes": _maple("Matrix(1, 2, [[1, 1]])", "Matrix(1, 1, [[1]])",
                           "Matrix(1, 1, [[1]])"),
    "maple-no-triads": "Tensor := TriadSet([]);",
    "exp-big-int": f"({BIG}*a11)*(b11)*(c11)",
    "exp-growing-scale": "(" + "*".join(["99999999999"] * 2000) + "*a11)*(b11)*(c11)",
    "exp-rank-2100": "(a11)*(b11)*(c11)\n" * 2100,
    "exp-divide-by-zero": "(a11/0)*(b11)*(c11)",
    "exp-one-digit-index": "(a1)*(b11)*(c11)",
    "exp-deep-parentheses": "(" * 60 + "a11" + ")" * 60 + "*(b11)*(c11)",
    "exp-same-matrix": "(a11)*(a12)*(c11)",
    "exp-sum-of-kinds": "(a11 + b11)*(b11)*(c11)",
    "exp-unbalanced": "((a11)*(b11)*(c11)",
    "exp-unicode": "(a11)*(b11)*(c11) \u00e9",
    "exp-only-comments": "# nothing\n# here\n",
}
HOSTILE_BYTES = {
    "binary-utf16": "(a11)*(b11)*(c11)".encode("utf-16"),
    "binary-zip-magic": b"PK\x03\x04" + bytes(range(256)) * 4,
    "binary-pickle": pickle.dumps({"format": [2, 2, 2]}),
    "binary-empty": b"",
    "binary-nul": b"\x00" * 4096,
    "npz-object-array": _plain_npz(**{"2x2x2_u": np.array([[1, "a"]] * 4, dtype=object)}),
    "npz-nan": _plain_npz(**{"2x2x2_w": np.full((4, 7), np.nan)}),
    "npz-complex": _plain_npz(**{"2x2x2_u": np.zeros((4, 7)) + 1j}),
    "npz-zero-rank": _plain_npz(**{f"2x2x2_{x}": np.zeros((4, 0)) for x in "uvw"}),
    "npz-three-d": _plain_npz(**{"2x2x2_w": np.zeros((1, 4, 7))}),
    "npz-strings": _plain_npz(**{"2x2x2_v": np.full((4, 7), "1")}),
}


def hostile_cases() -> list[Case]:
    """Crafted contents: numbers past the digit limit, empty and oversized declarations,
    non-numbers, deep nesting, wrong shapes, binary files and hostile npz arrays."""
    items = [(n, t.encode()) for n, t in HOSTILE_TEXT.items()] + list(HOSTILE_BYTES.items())
    return [_file_case("hostile", name, "in" + (".npz" if name.startswith("npz") else ".txt"),
                       data, FILE_COMMANDS[k % 3], (2,),
                       "2x2x2" if name.startswith("npz") else None)
            for k, (name, data) in enumerate(items)]


def _special(root: Path, kind: str) -> str:
    """A path of the given kind under root (or a device)."""
    if kind.startswith("/dev/"):
        return kind
    path = root / f"special-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "broken-link":
        path.symlink_to(root / "nowhere")
    elif kind == "link-to-fifo":
        os.mkfifo(root / "fifo")
        path.symlink_to(root / "fifo")
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    return str(path)  # "missing": nothing made


SPECIAL = ["/dev/zero", "/dev/urandom", "/dev/null", "fifo", "folder", "missing", "broken-link",
           "link-to-fifo", "socket"]


def special_cases() -> list[Case]:
    """Devices, FIFOs, folders, sockets and missing files given to every command reading one."""
    cases = []
    for kind in SPECIAL:
        for command in ("verify", "info", "convert", "compile", "plan", "compare"):
            def build(root: Path, kind=kind, command=command) -> list[str]:
                src = _special(root, kind)
                tail = {"convert": [str(root / "out.exp")], "compile": ["--out", str(root / "b")],
                        "compare": [src]}
                return [command, src, *tail.get(command, [])]

            cases.append(Case("special", f"{kind.strip('/').replace('/', '-')}-{command}", build))
    return cases


def _scheme(root: Path) -> str:
    (root / "s.json").write_bytes(SEEDS["json"])
    return str(root / "s.json")


def _out_path(root: Path, kind: str) -> str:
    """An output path that cannot be written (or, for the compile kinds, built into)."""
    (root / "file").write_text("x")
    if kind == "folder":
        (root / "dir").mkdir()
        return str(root / "dir")
    if kind == "fake-build":  # a config.json like a build's, beside a file no build made
        (root / "fake").mkdir()
        (root / "fake" / "config.json").write_text('{"module": "_bl_native_0", "library": "x"}')
        (root / "fake" / "notes.txt").write_text("mine")
        return str(root / "fake")
    if kind == "link-to-folder":
        (root / "dir").mkdir()
        (root / "link").symlink_to(root / "dir")
        return str(root / "link")
    return {"under-file": str(root / "file" / "out"), "proc": "/proc/bilinear_fuzz/out",
            "sys": "/sys/bilinear_fuzz", "under-dev-null": "/dev/null/out",
            "the-file": str(root / "file"), "dot": "."}[kind]


def output_cases() -> list[Case]:
    """convert and compile into folders, under files, /proc, /sys, foreign folders and `.`."""
    cases = []
    for kind in ("folder", "under-file", "proc", "sys", "under-dev-null", "link-to-folder"):
        for to in ("exp", "json"):
            cases.append(Case("output", f"convert-{kind}-{to}", lambda root, k=kind, t=to: [
                "convert", _scheme(root), _out_path(root, k), "--to", t]))
    for kind in ("under-file", "proc", "sys", "under-dev-null", "the-file", "dot", "fake-build",
                 "link-to-folder", "folder-with-file"):
        def build(root: Path, kind=kind) -> list[str]:
            if kind == "folder-with-file":
                (root / "out").mkdir()
                (root / "out" / "a.txt").write_text("a")
                return ["compile", _scheme(root), "--out", str(root / "out")]
            return ["compile", _scheme(root), "--out", _out_path(root, kind)]

        cases.append(Case("output", f"compile-{kind}", build))
    for kind in ("under-file", "proc", "the-file", "under-dev-null"):  # refused before searching
        cases.append(Case("output", f"discover-{kind}", lambda root, k=kind: [
            "discover", "2x2x2", "--rank", "7", "--seeds", "1", "--max-flips", "100",
            "--workers", "1", "--out", _out_path(root, k)]))
    return cases


BAD_ARGUMENTS = [
    [], ["bogus"], ["verify"], ["verify", "{s}", "extra"], ["verify", "{s}", "--nope"],
    ["convert", "{s}"], ["convert", "{s}", "{r}/o.x", "--to", "xml"],
    ["convert", "{s}", "{r}/o.txt"],
    ["convert", "{s}", "{r}/o"], ["info"], ["compile"], ["compile", "{s}", "--out"],
    ["verify", "{s}", "--key"], ["verify", "{s}", "--key", "2x2x2"], ["verify", "{n}"],
    ["verify", "{n}", "--key", "2x2"], ["verify", "{n}", "--key", "0x2x2"],
    ["verify", "{n}", "--key", "40x40x40"], ["verify", "{n}", "--key", "2x2x2x2"],
    ["verify", "{n}", "--key", "-1x2x2"], ["info", "{n}", "--key", "x"],
    ["discover"], ["discover", "3x3x3"], ["discover", "3x3x3", "--rank", "x"],
    ["discover", "0x3x3", "--rank", "5"], ["discover", "3x3", "--rank", "5"],
    ["discover", "axbxc", "--rank", "5"], ["discover", "40x40x40", "--rank", "100"],
    ["discover", "17x1x1", "--rank", "3"], ["discover", "2x2x2", "--rank", "0"],
    ["discover", "2x2x2", "--rank", "-3"], ["discover", "2x2x2", "--rank", "9"],
    ["discover", "2x2x2", "--rank", "7", "--seeds", "0"],
    ["discover", "2x2x2", "--rank", "7", "--workers", "0"],
    ["discover", "2x2x2", "--rank", "7", "--max-flips", "0"],
    ["discover", "2x2x2", "--rank", "7", "--plateau", "-1"],
    ["discover", "2x2x2", "--rank", "7", "--samples", "0"],
    ["discover", "2x2x2", "--rank", "7", "--sample-every", "0"],
    ["discover", "2x2x2", "--rank", "7", "--scheduler"],
    ["discover", "2x2x2", "--rank", "7", "--out"],
    ["plan", "--dtype", "float16"], ["plan", "--threads", "3"], ["plan", "--sizes", "x"],
    ["plan", "--repeats", "x"], ["plan", "--build", "{r}/nowhere"], ["plan", "--build", "{s}"],
    ["compare"], ["compare", "{s}"], ["compare", "{s}", "{s}", "--max-nodes", "x"],
    ["compare", "{s}", "{s}", "--max-nodes", "0"], ["compare", "{n}", "{s}"],
    ["compare", "{s}", "{n}", "--other-key", "2x2"], ["compare", "{s}", "{r}/missing"],
]


def argument_cases() -> list[Case]:
    """Missing, unknown and out-of-range arguments of every command."""
    def build(root: Path, argv: list[str]) -> list[str]:
        scheme, npz = _scheme(root), root / "k.npz"
        npz.write_bytes(SEEDS["npz"])
        return [a.format(s=scheme, n=npz, r=root) for a in argv]

    return [Case("arguments", f"{k:02d}-{'-'.join(argv)[:40] or 'none'}".replace("/", "_"),
                 lambda root, argv=argv: build(root, argv)) for k, argv in enumerate(BAD_ARGUMENTS)]


ALPHABET = "abc0123456789+-*/() \n{}[]\":,TriadSetMx"


def random_cases(count: int = 40) -> list[Case]:
    """Random bytes and random text over the formats' alphabet (the strategies of
    tests/test_formats.py), seeded."""
    rnd = random.Random(2323)
    cases = []
    for k in range(count):
        size = rnd.randint(0, 200)
        data = (rnd.randbytes(size) if k % 2 else
                "".join(rnd.choice(ALPHABET) for _ in range(size)).encode())
        cases.append(_file_case("random", f"{'bytes' if k % 2 else 'text'}-{k}", "in.txt", data,
                                FILE_COMMANDS[k % 3], (0, 1, 2)))
    return cases


def all_cases() -> list[Case]:
    """Every case of the campaign, in a fixed order."""
    return (mutation_cases() + hostile_cases() + special_cases() + output_cases()
            + argument_cases() + random_cases())
