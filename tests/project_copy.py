"""Copy the project's tracked files (and the shared folder beside it) into a fresh git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_project(dest: Path, commit: bool = True) -> Path:
    """Copy every git-tracked (or untracked, not ignored) file of the project into dest and make
    it a git repository with one commit, as `dvc exp run` needs."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    shared = ROOT.parent / "shared"
    if shared.exists() and not (dest.parent / "shared").exists():
        (dest.parent / "shared").symlink_to(shared)
    env = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@localhost",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@localhost"}
    git = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    if commit:
        subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
        subprocess.run([*git, "commit", "-qm", "copy"], cwd=dest, check=True,
                       env={**os.environ, **env})
    return dest

