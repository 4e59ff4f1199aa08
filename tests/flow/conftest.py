"""Helpers for the workflow tests: a marks directory shared with the pods, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FLOWS = Path(__file__).parent / "flows.py"


@pytest.fixture
def marks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A host directory the tasks' pods mount at /marks (hostPath) to leave evidence in."""
    d = tmp_path / "marks"
    d.mkdir()
    monkeypatch.setenv("FLOW_TEST_MARKS", str(d))
    yield d


def flow(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> tuple[int, Any, str]:
    """``podtask run tests/flow/flows.py ... --json``: exit code, JSON document, stderr."""
    r = subprocess.run(
        [sys.executable, "-m", "podtask", "run", str(FLOWS), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    try:
        doc = json.loads(r.stdout) if r.stdout.strip() else None
    except json.JSONDecodeError:
        pytest.fail(f"no JSON on stdout (rc={r.returncode}): {r.stdout!r}\nstderr: {r.stderr}")
    return r.returncode, doc, r.stderr


def node(doc: dict[str, Any], name: str) -> dict[str, Any]:
    rows = [n for n in doc["nodes"] if n["node"] == name]
    assert rows, f"no node {name} in {[n['node'] for n in doc['nodes']]}"
    return rows[0]
