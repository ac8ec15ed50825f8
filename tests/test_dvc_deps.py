"""dvc.yaml's code deps are exact, both ways: every stage lists each project module its command
imports (directly or not, package `__init__` files with code included) and each C source those
modules compile, and lists no project code file that it does not use.  So a change to any code a
stage runs makes `dvc status` see it as changed, and a change to code it does not run does not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bilinear", "stages")
CODE_SUFFIXES = (".py", ".c")


def _module_file(name: str) -> Path | None:
    """The file of a dotted project module or package name, or None outside the project."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT / name.replace(".", "/")
    for file in (base.with_suffix(".py"), base / "__init__.py"):
        if file.exists():
            return file
    return None


def _module_name(file: Path) -> str:
    return ".".join(file.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(file: Path) -> set[Path]:
    """Project modules imported by one file (relative imports resolved), with the packages that
    contain them (their `__init__` runs on import)."""
    module = _module_name(file)
    package = module if file.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.update([base, *(f"{base}.{a.name}" for a in node.names)])
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    found = set()
    for name in names:
        parts = name.split(".")
        for k in range(1, len(parts) + 1):
            hit = _module_file(".".join(parts[:k]))
            if hit:
                found.add(hit)
    return found


def _c_sources(file: Path) -> set[Path]:
    """C sources beside a module that it names (the files it compiles)."""
    text = file.read_text(encoding="utf-8")
    return {c for c in file.parent.glob("*.c") if f'"{c.name}"' in text}


def _has_code(file: Path) -> bool:
    """False for an `__init__.py` that holds only a docstring (nothing runs on import)."""
    body = ast.parse(file.read_text(encoding="utf-8")).body
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in body)


def needed(path: Path) -> set[str]:
    """Project code files (relative paths) that running the module at path uses."""
    seen, todo = set(), [path]
    while todo:
        file = todo.pop()
        if file not in seen:
            seen.add(file)
            todo.extend(_imports(file))
    files = {f for f in seen if f.name != "__init__.py" or _has_code(f)}
    files |= {c for f in seen for c in _c_sources(f)}
    return {str(f.relative_to(ROOT)) for f in files}


def _listed_code(deps: list[str]) -> set[str]:
    return {d for d in deps if d.split("/")[0] in PACKAGES and d.endswith(CODE_SUFFIXES)}


def _stages() -> dict:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


def test_every_stage_lists_exactly_the_code_it_runs():
    wrong = {}
    for name, stage in _stages().items():
        module = re.search(r"python -m (\S+)", stage["cmd"]).group(1)
        use = needed(ROOT / (module.replace(".", "/") + ".py"))
        listed = _listed_code(stage.get("deps", []))
        if use != listed:
            wrong[name] = {"missing": sorted(use - listed), "unused": sorted(listed - use)}
    assert wrong == {}


def test_every_stage_runs_a_stage_module():
    """Every DVC command is `python -m stages.<name>`, and no stage imports another stage."""
    for name, stage in _stages().items():
        module = re.search(r"python -m (\S+)", stage["cmd"]).group(1)
        assert module.startswith("stages."), name
        own = ROOT / (module.replace(".", "/") + ".py")
        others = {f for f in needed(own) if f.startswith("stages/")}
        assert others == {str(own.relative_to(ROOT))}, name


def test_the_check_sees_c_sources_and_package_code(tmp_path):
    assert "bilinear/search/flips.c" in needed(ROOT / "bilinear/search/flips.py")
    assert {"bilinear/native/mm_body.c", "bilinear/native/prelude.c"} <= needed(
        ROOT / "bilinear/native/build.py")
    assert "bilinear/algebra/__init__.py" not in needed(ROOT / "bilinear/algebra/expand.py")
