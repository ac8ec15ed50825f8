"""The measured plan as per-machine wisdom (as FFTW's): stored as JSON under
$BILINEAR_CACHE_DIR, else $XDG_CACHE_HOME/bilinear, else ~/.cache/bilinear (never a DVC output),
one file per key.  The key is everything the choice depends on: the CPU model and flags, the
BLAS the kernel calls (version, kernel family, configuration), a hash of the kernel's generic
code (prelude.c, mm_body.c, common.c, codegen.py and the compiler flags), the scheme's format
and rank, the dtype and the thread count (2 stands for two or more).  Not the scheme's additions
per level: two <2,2,2>:7 schemes with 16 and 14 block additions per level got the same threshold
and schedule in every (dtype, threads) on the machine of the committed run, so a new learned
scheme of the same format and rank reuses the plan (it records the additions it was measured
with).  A file whose key differs is never used; a corrupt one is ignored with one line on
stderr."""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from bilinear.io import cache_dir, write_json
from bilinear.native import machine, tune
from bilinear.native.build import CFLAGS

HERE = Path(__file__).resolve().parent
GENERIC_CODE = ("prelude.c", "mm_body.c", "common.c", "codegen.py")
FORMAT = 1  # version of the stored file's layout


@functools.cache
def code_hash() -> str:
    """SHA-256 of the kernel's generic code and compiler flags (not of any one scheme)."""
    h = hashlib.sha256()
    for name in GENERIC_CODE:
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    h.update(" ".join(CFLAGS).encode())
    return h.hexdigest()


def plan_key(config: dict, dtype, threads: int) -> dict:
    """The key of a plan for a kernel build's config (bilinear.native.build), dtype and threads."""
    cpu = machine.cpu()
    return {"cpu": cpu["model"],
            "cpu_flags_sha256": hashlib.sha256(" ".join(cpu["flags"]).encode()).hexdigest(),
            "blas": machine.kernel_blas(), "code_sha256": code_hash(),
            "scheme": {k: config[k] for k in ("format", "rank")},
            "dtype": np.dtype(dtype).name, "threads": min(int(threads), 2)}


def digest(key: dict) -> str:
    """Short hash of a key (the file name's)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def path_for(key: dict) -> Path:
    """The file of a key's plan."""
    return cache_dir() / f"plan-{key['dtype']}-t{key['threads']}-{digest(key)}.json"


def load(key: dict) -> dict | None:
    """The stored plan of exactly this key, or None (no file, another key, or a corrupt file:
    then one line on stderr)."""
    path = path_for(key)
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored["format"] != FORMAT or stored["key"] != key:
            return None
        plan = stored["plan"]
        if not isinstance(plan, dict) or not {"threshold", "schedule"} <= set(plan):
            raise ValueError("no plan in it")
        return plan
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        print(f"warning: ignoring corrupt plan cache {path} ({type(exc).__name__}: "
              f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'}); it will be "
              "measured again", file=sys.stderr)
        return None


def store(key: dict, plan: dict) -> Path:
    """Write a plan under its key (atomically); returns the file."""
    path = path_for(key)
    write_json(path, {"format": FORMAT, "key": key, "plan": plan})
    return path


def obtain(kernel, dtype, threads: int, **measure_kw) -> tuple[dict, dict]:
    """(plan, origin) for a kernel, dtype and threads: the stored plan of this key, else one
    measured now (tune.measure with measure_kw) and stored.  origin: key, digest, file and
    source ('cache' or 'measured')."""
    key = plan_key(kernel.config, dtype, threads)
    plan, source = load(key), "cache"
    if plan is None:
        plan, source = tune.measure(kernel, dtype, key["threads"], **measure_kw), "measured"
        plan["measured_with_additions_per_level"] = kernel.config["additions_per_level"]
        store(key, plan)
    return plan, {"key": key, "digest": digest(key), "file": str(path_for(key)),
                  "source": source}
