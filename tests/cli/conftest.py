"""Helpers for tests of the real ``podtask`` command, run in a subprocess as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

#: The console script pip installed next to the interpreter running the tests.
PODTASK_SCRIPT = Path(sys.executable).parent / "podtask"


def write_task_file(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


def run_script(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``podtask`` console script (not ``python -m podtask``)."""
    return subprocess.run(
        [str(PODTASK_SCRIPT), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def json_error(stdout: str) -> dict[str, Any]:
    """The one JSON object a ``--json`` command printed, which must be an error."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, stdout
    doc = json.loads(lines[0])
    assert set(doc) == {"error"}, doc
    assert set(doc["error"]) == {"type", "message", "field", "hint"}, doc
    error: dict[str, Any] = doc["error"]
    return error


@pytest.fixture
def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the local engine needs root")
