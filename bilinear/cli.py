"""Command line: `python -m bilinear verify|convert|info|compile FILE ...`,
`python -m bilinear compare FILE OTHER`, `python -m bilinear discover FORMAT --rank R ...` and
`python -m bilinear plan [SCHEME] ...`.

Every file is read by content (bilinear.algebra.formats): .exp products, ternary or project JSON,
a Maple TriadSet, an npz in the plain layout (with --key), or a bundle of many schemes (verify
checks every entry; --key picks one).  Exit status 0 = success (for verify: the scheme is
exact), 1 = readable but not a correct scheme, 2 = unreadable input, beyond the limits, or an
output that cannot be written; compare: 0 = equivalent (the witness is printed), 1 = certified
inequivalent, 3 = undecided within the search budget.  Failures print one line (to stderr,
prefixed "error:", for 2).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from bilinear.algebra import bundle
from bilinear.algebra.formats import (
    FORMATS,
    MAX_BYTES,
    SUFFIXES,
    WRITERS,
    Reading,
    read_scheme_file,
)
from bilinear.algebra.schemes import (
    LIMITS,
    Scheme,
    SchemeFormatError,
    check_limits,
    residual,
    valid_modulo_2,
)
from bilinear.io import LoadError, OutputError

EXACT, INCORRECT, UNREADABLE, UNDECIDED = 0, 1, 2, 3
MAX_COMPARE_RANK = 150  # compare's invariants grow with the square of the rank (about 3 s here)
MAX_PLAN_NONZEROS = 4000  # info counts block additions up to this size (about 7 s)


def _read(path: str, key: str | None) -> Reading | None:
    """Read a scheme file, printing the one-line error and returning None when unreadable."""
    try:
        return read_scheme_file(path, key)
    except SchemeFormatError as exc:
        print(f"error: unreadable scheme: {exc}", file=sys.stderr)
        return None


def _read_entry(path: str, key: str | None) -> Reading | None:
    """Like _read, and a bundle's entry `key` (a bundle needs one)."""
    if not Path(path).is_file():
        return _read(path, key)
    with open(path, "rb") as handle:
        if not bundle.detect(handle.read(2)):
            return _read(path, key)
    try:
        if key is None:
            count = len(bundle.read_texts(path))
            raise SchemeFormatError(f"a bundle of {count} schemes; name one with --key (or "
                                    "--other-key)")
        return Reading(bundle.read(path, key), bundle.NAME)
    except SchemeFormatError as exc:
        print(f"error: unreadable scheme: {path}: {exc}", file=sys.stderr)
        return None


def _check(reading: Reading) -> tuple[int, str]:
    """(exit status, verdict) of the exact Brent-equation check, noting mod-2-only schemes."""
    scheme = reading.scheme
    n, m, p = scheme.fmt
    failing = int(np.count_nonzero(residual(scheme) != 0))
    total = n * m * m * p * n * p
    if failing == 0:
        return EXACT, f"exact: all {total} Brent equations hold"
    mod2 = valid_modulo_2(scheme)
    note = "; valid modulo 2 only" if mod2 else ""
    if reading.declared_mod2 and not mod2:
        note = "; declared modulo 2 but fails modulo 2 too"
    return INCORRECT, f"incorrect: {failing} of {total} Brent equations fail{note}"


def _label(path: str, reading: Reading) -> str:
    n, m, p = reading.scheme.fmt
    name = "project JSON" if reading.format == "json" else reading.format
    return f"{path} ({name}) format {n}x{m}x{p} rank {reading.scheme.rank}"


def verify_bundle(path: str, key: str | None) -> int:
    """Verify every entry of a bundle (or the entry `key`): one line per incorrect entry, then
    a summary line."""
    try:
        schemes = bundle.read_all(path)
    except SchemeFormatError as exc:
        print(f"error: unreadable scheme: {path}: {exc}", file=sys.stderr)
        return UNREADABLE
    if key is not None:
        if key not in schemes:
            print(f"error: unreadable scheme: {path}: a bundle of {len(schemes)} schemes has no "
                  f"scheme {key!r}", file=sys.stderr)
            return UNREADABLE
        schemes = {key: schemes[key]}
    bad = 0
    for name, scheme in schemes.items():
        code, verdict = _check(Reading(scheme, bundle.NAME))
        if code != EXACT:
            bad += 1
            head, _, tail = verdict.partition(": ")
            print(f"{head}: {path} entry {name}: {tail}")
    head = "exact" if not bad else "incorrect"
    print(f"{head}: {path} (bundle): {len(schemes) - bad} of {len(schemes)} schemes exact")
    return EXACT if not bad else INCORRECT


def verify_command(path: str, key: str | None) -> int:
    """Verify one scheme file (every entry of a bundle, or its entry `key`) and print one line
    per verdict; returns the exit status."""
    if Path(path).is_file() and bundle.detect(Path(path).read_bytes()[:2]):
        return verify_bundle(path, key)
    reading = _read(path, key)
    if reading is None:
        return UNREADABLE
    code, verdict = _check(reading)
    head, _, tail = verdict.partition(": ")
    print(f"{head}: {_label(path, reading)}: {tail}")
    return code


def convert_command(src: str, dst: str, key: str | None, to: str | None) -> int:
    """Convert a scheme file to the format named by `to` or by dst's suffix."""
    from bilinear.io import atomic_write_text, check_writable

    name = to or SUFFIXES.get(Path(dst).suffix.lower())
    if name is None:
        print(f"error: cannot tell the output format from {dst!r}; use a suffix "
              f"({', '.join(SUFFIXES)}) or --to", file=sys.stderr)
        return UNREADABLE
    check_writable(dst)
    reading = _read(src, key)
    if reading is None:
        return UNREADABLE
    try:
        text = WRITERS[name](reading.scheme)
    except SchemeFormatError as exc:
        print(f"error: cannot write {dst} as {name}: {exc}", file=sys.stderr)
        return UNREADABLE
    atomic_write_text(dst, text)
    print(f"wrote {dst} ({name}) from {_label(src, reading)}")
    return EXACT


def _ring(scheme: Scheme) -> str:
    values = {x for t in (scheme.U, scheme.V, scheme.W) for x in t.flat}
    if values <= {-1, 0, 1}:
        return "ternary"
    return "integer" if scheme.is_integral() else "rational"


def info_command(path: str, key: str | None) -> int:
    """Print a summary of a scheme file: format, ring, sizes, additions, fingerprint, witness."""
    from bilinear.algebra.equivalence import equivalence_witness
    from bilinear.algebra.fingerprint import fingerprint, profile
    from bilinear.native.plan import SchemeCompileError, make_plan

    reading = _read(path, key)
    if reading is None:
        return UNREADABLE
    scheme = reading.scheme
    code, verdict = _check(reading)
    if scheme.nonzeros() > MAX_PLAN_NONZEROS:  # the elimination's time grows faster than that
        additions = f"not computed (more than {MAX_PLAN_NONZEROS} nonzeros; compile computes it)"
    else:
        try:
            additions = str(make_plan(scheme).additions())
        except SchemeCompileError as exc:
            additions = f"n/a ({exc})"
    ranks = Counter(row[:3] for row in profile(scheme))
    lines = [f"file: {path}", f"format: {reading.format}",
             "shape: {}x{}x{}".format(*scheme.fmt), f"rank: {scheme.rank}",
             f"verdict: {verdict}", f"coefficients: {_ring(scheme)}",
             f"nonzeros: {scheme.nonzeros()}",
             f"block additions per level (after CSE): {additions}",
             f"fingerprint: {fingerprint(scheme)}",
             "factor ranks (U, V, W) x count: " + ", ".join(
                 f"{r} x{c}" for r, c in sorted(ranks.items()))]
    if scheme.fmt == (2, 2, 2) and scheme.rank == 7 and code == EXACT:
        witness = equivalence_witness(scheme)
        lines.append("Strassen witness: " + ("none found" if witness is None else
                     f"P={witness['P']} Q={witness['Q']} R={witness['R']} "
                     f"permutation={witness['permutation']}"))
    print("\n".join(lines))
    return code


def compare_command(path: str, key: str | None, other: str, other_key: str | None,
                    max_nodes: int) -> int:
    """Search a symmetry between two scheme files (bilinear.algebra.equivalence_search) and print
    each file's refined fingerprint and the verdict: 0 equivalent (with the witness as JSON), 1
    certified inequivalent, 3 undecided, 2 unreadable."""
    import json

    from bilinear.algebra.equivalence_search import search_equivalence
    from bilinear.algebra.invariants import refined_fingerprint

    readings = []
    for name, entry in ((path, key), (other, other_key)):
        readings.append(_read_entry(name, entry))
        if readings[-1] is None:
            return UNREADABLE
    for name, reading in zip((path, other), readings, strict=True):
        if reading.scheme.rank > MAX_COMPARE_RANK:
            print(f"error: compare: {name} has rank {reading.scheme.rank}; the search handles at "
                  f"most {MAX_COMPARE_RANK} products", file=sys.stderr)
            return UNREADABLE
    if max_nodes < 1:
        print(f"error: compare: --max-nodes must be >= 1, got {max_nodes}", file=sys.stderr)
        return UNREADABLE
    for name, reading in zip((path, other), readings, strict=True):
        print(f"{_label(name, reading)}: {_check(reading)[1].split(':')[0]}, refined fingerprint "
              f"{refined_fingerprint(reading.scheme)}")
    verdict = search_equivalence(readings[0].scheme, readings[1].scheme, max_nodes)
    if verdict.status == "equivalent":
        print(f"equivalent ({verdict.nodes} product matches tried); witness mapping the first "
              f"onto the second: {json.dumps(verdict.witness)}")
        return EXACT
    if verdict.status == "inequivalent":
        print(f"inequivalent: certified, no symmetry maps one onto the other ({verdict.nodes} "
              "product matches tried)")
        return INCORRECT
    print(f"undecided after {verdict.nodes} product matches (raise --max-nodes)")
    return UNDECIDED


def compile_command(path: str, key: str | None, out: str) -> int:
    """Build the native kernel of an exact scheme file into out (see bilinear.native.build): an
    absent or empty folder, or a previous build, which is replaced; any other folder is refused."""
    from bilinear.native.build import DEFAULT_SETTINGS, BuildDirError, build, check_out_dir
    from bilinear.native.plan import SchemeCompileError

    try:
        check_out_dir(out)
    except BuildDirError as exc:
        print(f"error: cannot build into {exc}", file=sys.stderr)
        return UNREADABLE
    reading = _read(path, key)
    if reading is None:
        return UNREADABLE
    code, verdict = _check(reading)
    if code != EXACT:
        print(f"{verdict.split(':')[0]}: {_label(path, reading)}: not compiled ({verdict})")
        return code
    try:
        config = build(reading.scheme, out, DEFAULT_SETTINGS)
    except SchemeCompileError as exc:
        print(f"error: cannot compile {path}: {exc}", file=sys.stderr)
        return UNREADABLE
    print(f"compiled {_label(path, reading)} into {out}: module {config['module']}, "
          f"{config['additions_per_level']} block additions per level")
    return EXACT


def discover_command(key: str, rank: int, seeds: int, out: str, max_flips: int, workers: int,
                     scheduler: str | None, plateau: int, samples: int, sample_every: int) -> int:
    """Ad-hoc flip-graph search with a progress bar; adds each walk's schemes, one entry per
    fingerprint, to the bundle out/schemes.jsonl.gz as it finishes, and keeps out/index.json
    (the fingerprints and how many walks found each) matching it."""
    from bilinear.io import check_writable
    from bilinear.params import ParamError
    from bilinear.search import discover
    from bilinear.search.executor import Interrupted, scheduler_address

    try:
        fmt = discover.parse_format(key)
        discover.check_rank(key, rank)
        for name, value in (("--seeds", seeds), ("--max-flips", max_flips),
                            ("--plateau", plateau), ("--samples", samples),
                            ("--sample-every", sample_every), ("--workers", workers)):
            if value < 1:
                raise ParamError(f"{name}: expected a positive integer, got {value}")
        check_limits(fmt, rank)
        check_writable(Path(out) / "index.json")  # before the search, not after it
    except (ParamError, SchemeFormatError, OutputError) as exc:
        print(f"error: {str(exc).removeprefix('discover.targets.')}", file=sys.stderr)
        return UNREADABLE
    search = discover.Search(max_flips, plateau=plateau, samples=samples,
                             sample_every=sample_every, max_coefficient=1)
    try:  # each walk's schemes written as it finishes, merged with the folder's index
        results = discover.search_into(out, fmt, rank, 0, search, seeds, workers,
                                       scheduler_address(scheduler), f"{key} rank {rank}",
                                       own=False)  # never delete a user's files
    except Interrupted as exc:
        print(f"error: discover {key}: {exc}; their schemes are in {out}/schemes.jsonl.gz "
              "(index.json lists them)", file=sys.stderr)
        return exc.exit_code
    except SchemeFormatError as exc:  # a bundle already in out that does not read
        print(f"error: {out}/schemes.jsonl.gz: {exc}; not replaced", file=sys.stderr)
        return UNREADABLE
    schemes = discover.unique_schemes(results)
    m = discover.summarize(fmt, rank, results)
    print(f"{key} rank {rank}: {m['exact']}/{m['tried']} walks exact, best rank {m['best_rank']}, "
          f"{m['distinct_fingerprints']} distinct fingerprints added to {out}/schemes.jsonl.gz, "
          f"{m['search_seconds']:.0f} s of search")
    return EXACT if schemes else INCORRECT


def plan_command(path: str | None, key: str | None, build_dir: str, dtypes: list[str],
                 threads: list[int], force: bool, sizes: list[int] | None = None,
                 repeats: int | None = None) -> int:
    """Measure (with a progress bar) and store this machine's plan of a kernel for each dtype
    and thread count (bilinear.native.wisdom), the kernel compiled from a scheme file or, with
    no file, the one in build_dir; print what each plan chose and why."""
    import tempfile

    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    from bilinear.native import tune, wisdom
    from bilinear.native.build import build
    from bilinear.native.kernel import Kernel
    from bilinear.native.plan import SchemeCompileError
    from bilinear.params import ParamError, load_params

    with tempfile.TemporaryDirectory(prefix="bilinear_plan_") as tmp:
        try:
            if path is not None:
                reading = _read(path, key)
                if reading is None:
                    return UNREADABLE
                settings = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
                build(reading.scheme, tmp, settings["native"])
                build_dir = tmp
            kernel = Kernel(build_dir, use_wisdom=False)
        except (ParamError, SchemeCompileError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return UNREADABLE
        sizes = sizes or list(tune.DEFAULT_SIZES)
        todo = [(dt, t) for dt in dtypes for t in sorted({min(t, 2) for t in threads})]
        bar = tqdm(total=len(todo) * len(sizes), desc="plan", unit="size")
        for dt, t in todo:
            k = wisdom.plan_key(kernel.config, dt, t)
            stored = None if force else wisdom.load(k)
            if stored is None:
                bar.set_postfix_str(f"{dt} t={t}")
                with threadpool_limits(limits=t, user_api="blas"):
                    stored = tune.measure(kernel, dt, t, sizes=sizes,
                                          repeats=repeats or tune.DEFAULT_REPEATS,
                                          progress=lambda n: bar.update())
                wisdom.store(k, stored)
                how = "measured and stored in"
            else:
                bar.update(len(sizes))
                how = "already stored in (--force measures again)"
            bar.write("\n".join(tune.explain(stored) + [f"  {how} {wisdom.path_for(k)}"]))
        bar.close()
    return EXACT


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2)."""

    def error(self, message: str):
        """Print 'error: PROG: message (PROG --help)' and exit 2."""
        self.exit(UNREADABLE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the requested command; returns the exit status."""
    parser = _Parser(prog="python -m bilinear",
                     description="Tools for matrix-multiplication schemes.")
    sub = parser.add_subparsers(dest="command", required=True)
    file_help = f"scheme file, read by content ({', '.join(FORMATS)})"
    commands = {
        "verify": "verify a scheme exactly (exit 0 exact, 1 incorrect, 2 unreadable)",
        "convert": "convert a scheme file (output format from OUT's suffix or --to)",
        "info": "format, rank, ring, nonzeros, additions, fingerprint (and Strassen witness)",
        "compile": "build the native kernel of an exact scheme file",
    }
    parsers = {}
    for name, text in commands.items():
        parsers[name] = sub.add_parser(name, help=text)
        parsers[name].add_argument("path", help=file_help)
        parsers[name].add_argument("--key", help="format key inside an npz file, e.g. 3x3x3")
    parsers["convert"].add_argument("out", help=f"output file ({', '.join(SUFFIXES)})")
    parsers["convert"].add_argument("--to", choices=sorted(WRITERS), help="output format")
    parsers["compile"].add_argument("--out", default="build/kernel/custom",
                                    help="build directory (default build/kernel/custom)")
    compare = sub.add_parser("compare", help="search a symmetry mapping one scheme onto another "
                             "(exit 0 equivalent, 1 inequivalent, 3 undecided, 2 unreadable)")
    compare.add_argument("path", help=file_help)
    compare.add_argument("other", help="the other scheme file")
    compare.add_argument("--key", help="format key or bundle entry of the first file")
    compare.add_argument("--other-key", help="format key or bundle entry of the other file")
    compare.add_argument("--max-nodes", type=int, default=200_000,
                         help="product matches to try before answering undecided")
    found = sub.add_parser("discover", help="search schemes of a format at a rank (flip graph)")
    found.add_argument("format", help="format <n>x<m>x<p>, e.g. 3x3x3")
    found.add_argument("--rank", type=int, required=True, help="target rank")
    found.add_argument("--seeds", type=int, default=8, help="walks (default 8)")
    found.add_argument("--out", default="schemes/found/adhoc", help="output folder")
    found.add_argument("--max-flips", type=int, default=60_000_000, help="flips per walk")
    found.add_argument("--plateau", type=int, default=20000,
                       help="flips without a reduction before a plus transition")
    found.add_argument("--samples", type=int, default=10,
                       help="schemes kept per walk once at the rank")
    found.add_argument("--sample-every", type=int, default=20000,
                       help="flips between kept schemes")
    found.add_argument("--workers", type=int, default=2, help="local worker processes")
    found.add_argument("--scheduler", help="tcp://HOST:PORT of a Dask scheduler")
    planner = sub.add_parser("plan", help="measure and store this machine's plan of a kernel "
                             "(levels and schedule per dtype and threads)")
    planner.add_argument("path", nargs="?", help=file_help + " (default: the kernel in --build)")
    planner.add_argument("--key", help="format key inside an npz file, e.g. 3x3x3")
    planner.add_argument("--build", default="build/kernel",
                         help="kernel build directory when no scheme is given")
    planner.add_argument("--dtype", action="append", choices=["float64", "float32"],
                         help="dtype to plan (repeatable; default both)")
    planner.add_argument("--threads", action="append", type=int, choices=[1, 2],
                         help="thread count to plan (repeatable; 2 stands for 2 or more; "
                         "default 1 and 2)")
    planner.add_argument("--force", action="store_true", help="measure even if stored")
    planner.add_argument("--sizes", type=int, nargs="+",
                         help="candidate N, a doubling chain (default 512 1024 2048 4096)")
    planner.add_argument("--repeats", type=int, help="timed rounds per size (default 3)")
    parsers["info"].epilog = (f"Limits of every scheme file: a regular file of at most "
                              f"{MAX_BYTES >> 20} MiB; {LIMITS}. Exit status 0 exact, 1 "
                              "incorrect, 2 unreadable or beyond the limits.")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (LoadError, OutputError, OSError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return UNREADABLE


def _one_line(exc: Exception) -> str:
    """An OSError as 'cannot write FILE: reason' (the others are one line already)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else "output"
        return f"cannot write {where}: {exc.strerror}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; returns the exit status."""
    if args.command == "plan":
        return plan_command(args.path, args.key, args.build,
                            args.dtype or ["float64", "float32"], args.threads or [1, 2],
                            args.force, args.sizes, args.repeats)
    if args.command == "discover":
        return discover_command(args.format, args.rank, args.seeds, args.out, args.max_flips,
                                args.workers, args.scheduler, args.plateau, args.samples,
                                args.sample_every)
    if args.command == "convert":
        return convert_command(args.path, args.out, args.key, args.to)
    if args.command == "info":
        return info_command(args.path, args.key)
    if args.command == "compile":
        return compile_command(args.path, args.key, args.out)
    if args.command == "compare":
        return compare_command(args.path, args.key, args.other, args.other_key, args.max_nodes)
    return verify_command(args.path, args.key)
