"""Imports run one way: plumbing <- algebra <- learn <- search <- studies (studies use the
search package's executor); report and native sit on algebra; the command line sits on top.
Every import of every library file is checked, including imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUMBING = {"bilinear.io", "bilinear.checks", "bilinear.params", "bilinear.stage", "bilinear.seeds",
            "bilinear.intervals"}
# layer -> the layers its modules may import (its own included)
ALLOWED = {
    "plumbing": {"plumbing"},
    "algebra": {"plumbing", "algebra"},
    "learn": {"plumbing", "algebra", "learn"},
    "search": {"plumbing", "algebra", "learn", "search"},
    "studies": {"plumbing", "algebra", "learn", "search", "studies"},
    "report": {"plumbing", "algebra", "report"},
    "native": {"plumbing", "algebra", "native"},
    "cli": {"plumbing", "algebra", "learn", "search", "studies", "report", "native", "cli"},
}


def layer_of(module: str) -> str | None:
    """The layer of a dotted project module name, or None outside the library and native."""
    parts = module.split(".")
    if parts[0] != "bilinear" or len(parts) == 1:
        return None
    if ".".join(parts[:2]) in PLUMBING:
        return "plumbing"
    if parts[1] in ("algebra", "learn", "search", "studies", "report", "native"):
        return parts[1]
    return "cli"


def imported_modules(source: str, module: str) -> set[str]:
    """Dotted names of everything a module's source imports (relative imports resolved)."""
    package = module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def back_edges(files: dict[str, str]) -> list[str]:
    """'a -> b' for every import of module b by module a that the layering forbids."""
    bad = []
    for module, source in sorted(files.items()):
        mine = layer_of(module)
        for name in sorted(imported_modules(source, module)):
            theirs = layer_of(name)
            if mine and theirs and theirs not in ALLOWED[mine]:
                bad.append(f"{module} -> {name}")
    return bad


def _library() -> dict[str, str]:
    files = {}
    for path in (ROOT / "bilinear").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        files[name] = path.read_text(encoding="utf-8")
    return files


def test_library_has_no_back_edges():
    assert back_edges(_library()) == []


def test_every_library_module_has_a_layer():
    assert [name for name in _library() if name != "bilinear" and not layer_of(name)] == []


def test_a_back_edge_is_caught():
    files = {
        "bilinear.algebra.x": "from bilinear.learn.training import train_runs\n",
        "bilinear.report.y": "def f():\n    from ..studies import stats\n",
        "bilinear.learn.z": "from bilinear.algebra import schemes\nimport bilinear.io\n",
    }
    assert back_edges(files) == [
        "bilinear.algebra.x -> bilinear.learn.training",
        "bilinear.algebra.x -> bilinear.learn.training.train_runs",
        "bilinear.report.y -> bilinear.studies",
        "bilinear.report.y -> bilinear.studies.stats",
    ]
