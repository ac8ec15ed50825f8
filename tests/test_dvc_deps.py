"""dvc.yaml declares, for every stage, each project module its command imports (directly or not),
so a change to any of them makes `dvc status` see the stage as changed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bilinear", "native", "stages", "scripts")


def _imports(path: Path) -> set[Path]:
    """Project modules imported by one file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            file = ROOT / (name.replace(".", "/") + ".py")
            if name.split(".")[0] in PACKAGES and file.exists():
                found.add(file)
    return found


def _closure(path: Path) -> set[str]:
    seen, todo = set(), [path]
    while todo:
        file = todo.pop()
        if file not in seen:
            seen.add(file)
            todo.extend(_imports(file))
    return {str(f.relative_to(ROOT)) for f in seen if f.name != "__init__.py"}


def test_every_stage_declares_the_modules_it_imports():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    missing = {}
    for name, stage in stages.items():
        stage = stage.get("do", stage)
        module = re.search(r"python -m (\S+)", stage["cmd"]).group(1)
        deps = set(stage.get("deps", []))
        needed = _closure(ROOT / (module.replace(".", "/") + ".py"))
        gaps = sorted(f for f in needed if f not in deps)
        if gaps:
            missing[name] = gaps
    assert missing == {}
