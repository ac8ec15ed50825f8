"""Every package's `__init__` docstring names each of its modules (and C sources), so the
package says what lives there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def unnamed_modules(package: Path) -> list[str]:
    """Modules and C sources of a package directory that its `__init__` docstring does not name."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:\.c)?", doc))
    files = [f for f in package.iterdir() if f.suffix in (".py", ".c") and f.stem != "__init__"]
    files += [d for d in package.iterdir() if (d / "__init__.py").exists()]
    return sorted(f.name for f in files
                  if (f.name if f.suffix == ".c" else f.stem) not in words)


def test_every_package_docstring_names_its_modules():
    packages = [p.parent for p in (ROOT / "bilinear").rglob("__init__.py")]
    missing = {str(p.relative_to(ROOT)): unnamed_modules(p) for p in packages}
    assert {k: v for k, v in missing.items() if v} == {}


def test_a_missing_module_is_caught(tmp_path):
    (tmp_path / "__init__.py").write_text('"""Holds alpha (the first) and gamma.c."""\n')
    for name in ("alpha.py", "beta.py", "gamma.c", "delta.c"):
        (tmp_path / name).write_text("")
    assert unnamed_modules(tmp_path) == ["beta.py", "delta.c"]
