"""Compile the generated kernel with cffi against the packaged OpenBLAS (scipy-openblas64)."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import cffi
import scipy_openblas64

from bilinear.algebra.schemes import Scheme
from bilinear.io import atomic_write_text, write_json
from bilinear.native.codegen import CDEF, generate
from bilinear.native.plan import make_plan

# a portable baseline (x86-64-v2); the AVX2 and AVX-512 addition loops are compiled with
# function target attributes and chosen at load time (bl_set_isa), never -march=native
CFLAGS = ["-O3", "-march=x86-64-v2", "-mtune=generic", "-std=c11", "-fno-math-errno",
          "-pthread"]
CONFIG = "config.json"


DEFAULT_SETTINGS = {"max_levels": 5, "split": True}  # a build outside the pipeline (the CLI)


def module_name(source: str) -> str:
    """Extension module name derived from the source, so builds of different schemes coexist."""
    return "_bl_native_" + hashlib.sha256(source.encode()).hexdigest()[:12]


def build(scheme: Scheme, out_dir: str | Path, settings: dict, quiet: bool = True,
          leaves: bool = True, exact: bool = True) -> dict:
    """Generate, compile and install the kernel of scheme into out_dir; returns its config.

    settings (stored in out_dir/config.json for the Python API): the recursion cutoffs and the
    default parallel mode.  leaves=False builds the additions-only diagnostic variant (see
    bilinear.native.codegen.generate); exact=False builds a bilinear map that is no product (an
    alternative-basis core, run on inputs in its bases).  Any previous build in out_dir is
    replaced.
    """
    plan = make_plan(scheme, exact)  # validates before any code is emitted
    source = generate(scheme, leaves, exact)
    name = module_name(source)
    out_dir = Path(out_dir)
    lib_dir = scipy_openblas64.get_lib_dir()
    with tempfile.TemporaryDirectory(prefix="bl_native_") as tmp:
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        # no temporary paths or build ids in the binary: same scheme, same bytes
        include = scipy_openblas64.get_include_dir()
        ffi.set_source(name, source, include_dirs=[include],
                       library_dirs=[lib_dir], libraries=[scipy_openblas64.get_library()],
                       extra_compile_args=[*CFLAGS, f"-ffile-prefix-map={tmp}=.",
                                           f"-ffile-prefix-map={include}=openblas"],
                       # no rpath to the virtual environment either: the loader preloads
                       # OpenBLAS (kernel.py): builds in any checkout have the same bytes
                       extra_link_args=["-pthread", "-Wl,--build-id=none"])
        lib = Path(ffi.compile(tmpdir=tmp, verbose=not quiet))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        shutil.copy2(lib, out_dir / lib.name)
    atomic_write_text(out_dir / "kernel.c", source)
    config = {
        "module": name,
        "library": lib.name,
        "format": list(plan.fmt),
        "rank": len(plan.slots),
        "additions_per_level": plan.additions(),
        "temporaries": {"a": len(plan.form_a.outputs), "b": len(plan.form_b.outputs),
                        "x": len(plan.multi)},
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "leaves": leaves,
        "exact": exact,
        "openblas": scipy_openblas64.get_openblas_config().strip(),
        **settings,
    }
    write_json(out_dir / CONFIG, config)
    return config


def record_not_built(out_dir: str | Path, reason: str) -> None:
    """Leave out_dir holding only a config.json that says no kernel was built and why (a learned
    scheme that is not exact), so the stages after it report that instead of failing."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    write_json(out_dir / CONFIG, {"built": False, "reason": reason})


def read_config(build_dir: str | Path) -> dict:
    """The config.json of a build directory ("built" is False where no kernel was built)."""
    config = json.loads((Path(build_dir) / CONFIG).read_text(encoding="utf-8"))
    return {"built": True, **config}
