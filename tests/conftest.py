"""Every test stores and reads kernel plans in its own temporary cache, never the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def plan_cache(tmp_path_factory, monkeypatch):
    """BILINEAR_CACHE_DIR set to a fresh temporary directory (subprocesses inherit it)."""
    path = tmp_path_factory.mktemp("plan_cache")
    monkeypatch.setenv("BILINEAR_CACHE_DIR", str(path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return path
