"""Compile the generated kernel with cffi against the packaged OpenBLAS (scipy-openblas64).

A build folder holds the library, kernel.c and config.json (the marker of a build: it names the
library) and possibly nested builds; a build goes only into an absent or empty folder or replaces
a previous build, never a folder holding anything else, and replaces it by renaming a complete
build beside it into place."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import cffi
import scipy_openblas64

from bilinear.algebra.schemes import Scheme
from bilinear.io import atomic_write_text, write_json
from bilinear.native.codegen import CDEF, generate
from bilinear.native.plan import SchemeCompileError, make_plan

# a portable baseline (x86-64-v2); the AVX2 and AVX-512 addition loops are compiled with
# function target attributes and chosen at load time (bl_set_isa), never -march=native
CFLAGS = ["-O3", "-march=x86-64-v2", "-mtune=generic", "-std=c11", "-fno-math-errno",
          "-pthread"]
CONFIG = "config.json"


DEFAULT_SETTINGS = {"max_levels": 5, "split": True}  # a build outside the pipeline (the CLI)
SOURCE = "kernel.c"


class BuildDirError(SchemeCompileError):
    """An output folder that cannot take a build (it holds files no build made, or is a file)."""


def is_build(folder: Path) -> bool:
    """Whether folder is a previous build: its config.json names a kernel module and every entry
    is that build's library, kernel.c, config.json or a nested previous build."""
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        entries = list(folder.iterdir())
    except (OSError, ValueError):
        return False
    if not (isinstance(config, dict) and str(config.get("module", "")).startswith("_bl_native_")):
        return False
    own = {CONFIG, SOURCE, str(config.get("library"))}
    return all((e.name in own and e.is_file() and not e.is_symlink())
               or (e.is_dir() and not e.is_symlink() and is_build(e)) for e in entries)


def check_out_dir(out_dir: str | Path) -> Path:
    """out_dir as an absolute path, if a build may go there: absent, an empty folder or a previous
    build (see is_build); BuildDirError otherwise, before anything is compiled or written."""
    out = Path(out_dir).absolute()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildDirError(f"{out_dir}: is {'a symbolic link' if out.is_symlink() else 'a file'}"
                            ", not a build folder (refused)")
    if out.is_dir() and any(out.iterdir()) and not is_build(out):
        raise BuildDirError(f"{out_dir}: a folder holding files that no kernel build made (no "
                            f"{CONFIG} of a build, or other files beside it); refused, nothing "
                            "deleted: choose an empty or new folder")
    if out.parent == out:
        raise BuildDirError(f"{out_dir}: the root folder cannot take a build")
    _probe_writable(out.parent, out_dir)
    return out


def _probe_writable(folder: Path, out_dir) -> None:
    """BuildDirError unless a folder can be made in folder's nearest existing ancestor (made and
    removed at once), so an unwritable output fails before the compiler runs."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir():
        raise BuildDirError(f"{out_dir}: lies under {folder}, which is not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".bl_probe_", dir=folder))
    except OSError as exc:
        raise BuildDirError(f"{out_dir}: cannot write in {folder} ({exc.strerror})") from None


def _install(staging: Path, out: Path) -> None:
    """Rename the finished build staging into out, replacing a previous build there (the old one
    is renamed aside first and deleted only once the new one is in place)."""
    if out.is_dir() and any(out.iterdir()):
        check_out_dir(out)  # still a previous build, nothing added since the check
        old = staging.with_name(staging.name + ".old")
        os.rename(out, old)
        try:
            os.rename(staging, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old)
    else:
        os.rename(staging, out)  # over an empty folder too


def module_name(source: str) -> str:
    """Extension module name derived from the source, so builds of different schemes coexist."""
    return "_bl_native_" + hashlib.sha256(source.encode()).hexdigest()[:12]


def build(scheme: Scheme, out_dir: str | Path, settings: dict, quiet: bool = True,
          leaves: bool = True, exact: bool = True) -> dict:
    """Generate, compile and install the kernel of scheme into out_dir; returns its config.

    settings (stored in out_dir/config.json for the Python API): the recursion cutoffs and the
    default parallel mode.  leaves=False builds the additions-only diagnostic variant (see
    bilinear.native.codegen.generate); exact=False builds a bilinear map that is no product (an
    alternative-basis core, run on inputs in its bases).  A previous build in out_dir is
    replaced; a folder holding anything else is refused (BuildDirError, see check_out_dir).
    """
    out = check_out_dir(out_dir)
    plan = make_plan(scheme, exact)  # validates before any code is emitted
    source = generate(scheme, leaves, exact)
    name = module_name(source)
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
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".build", dir=out.parent))
        try:
            os.chmod(staging, 0o777 & ~_umask())  # mkdtemp creates 0700
            shutil.copy2(lib, staging / lib.name)
            config = _config(plan, source, name, lib.name, leaves, exact, settings)
            atomic_write_text(staging / SOURCE, source)
            write_json(staging / CONFIG, config)
            _install(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return config


def _umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _config(plan, source: str, name: str, library: str, leaves: bool, exact: bool,
            settings: dict) -> dict:
    """The config.json of a build."""
    return {
        "module": name,
        "library": library,
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
