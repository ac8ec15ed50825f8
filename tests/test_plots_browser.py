"""`dvc plots show` renders every plot offline: the page is opened in headless Chromium with no
network, and each Vega plot must draw (no script errors, the right number of charts, a non-blank
screenshot)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.project_copy import copy_project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND"]

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium is required in CI (.ci/run installs Debian's chromium)")
    pytest.skip("chromium not installed (apt-get install chromium)", allow_module_level=True)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)


def _vega_plot_count(repo: Path) -> int:
    out = subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "--json"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    doc = doc.get("data", doc)
    return sum(1 for renders in doc.values() for r in renders if r.get("type") == "vega")


def test_dvc_plots_render_offline(tmp_path):
    repo = copy_project(tmp_path / "repo")
    subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "-o", "page"], cwd=repo,
                   check=True, capture_output=True)
    page = repo / "page" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html and "<script src=" not in html, "page loads scripts remotely"
    expected = _vega_plot_count(repo)
    assert expected >= 1, "the project declares no Vega plots"

    run = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000",
                    "--dump-dom", page.as_uri())
    errors = [ln for ln in run.stderr.splitlines()
              if "CONSOLE" in ln and re.search(r"error|uncaught", ln, re.IGNORECASE)]
    assert not errors, "script errors:\n" + "\n".join(errors)
    drawn = len(re.findall(r'<(?:svg|canvas)[^>]*class="marks"', run.stdout))
    assert drawn == expected, f"{drawn} charts drawn, {expected} Vega plots declared"

    shot = tmp_path / "page.png"
    _chromium(tmp_path, "--virtual-time-budget=20000", "--window-size=1400,3000",
              f"--screenshot={shot}", page.as_uri())
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.std() > 0.02, "screenshot is blank"
    assert np.mean(pixels.min(axis=2) < 0.5) > 0.001, "screenshot has almost no dark pixels"
