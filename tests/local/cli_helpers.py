"""The real ``podtask run`` on the security tasks, for the local (and podman) engine tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podtask.engines.local import linux

TASKS = Path(__file__).parent / "tasks" / "security_tasks.py"
needs_ns = pytest.mark.skipif(
    linux.namespaces_available() is not None, reason=str(linux.namespaces_available())
)


def run_task(task: str, *args: str, hostdir: Path | None = None) -> tuple[int, dict[str, Any], str]:
    """(exit code, the --json document or {}, stderr) of ``podtask run TASKS task``."""
    env = {**os.environ}
    if hostdir is not None:
        env["PODTASK_TEST_HOSTDIR"] = str(hostdir)
    r = subprocess.run(
        [sys.executable, "-m", "podtask", "run", str(TASKS), task, "--json", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    doc = json.loads(r.stdout) if r.stdout.strip() else {}
    return r.returncode, doc, r.stderr
