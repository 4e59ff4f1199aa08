"""Fixtures for the storage tests: every test gets its own PODTASK_HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podtask._storage import RunStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh podtask home under tmp_path; never the user's ~/.podtask."""
    path = tmp_path / "home"
    monkeypatch.setenv("PODTASK_HOME", str(path))
    return path


@pytest.fixture
def store(home: Path) -> Iterator[RunStore]:
    with RunStore.in_home() as s:
        yield s
