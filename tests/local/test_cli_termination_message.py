"""Termination messages on the local engine, as the kubelet fills state.terminated.message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podtask.engines.local import linux

TASKS = Path(__file__).parent / "tasks" / "security_tasks.py"
pytestmark = pytest.mark.skipif(
    linux.namespaces_available() is not None, reason=str(linux.namespaces_available())
)


def test_termination_messages_are_read_from_the_file_or_the_log_tail() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "podtask", "run", str(TASKS), "termination_messages", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    messages = {c["name"]: c.get("message") for c in doc["containers"]}
    assert messages["writer"] == "all good\n"
    assert messages["custom"] == "custom path"
    assert messages["fallback"] == "first\nlast words\n"
    assert not messages["fallback-ok"]  # exit 0: the log is no message
    host_log = Path("/dev/termination-log")
    assert "all good" not in (host_log.read_text() if host_log.exists() else ""), "host's /dev"
    described = subprocess.run(
        [sys.executable, "-m", "podtask", "describe", doc["run_id"]],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "all good" in described and "last words" in described
