"""Termination messages on the local engine, as the kubelet fills state.terminated.message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.local.cli_helpers import needs_ns, run_task

pytestmark = needs_ns


def test_termination_messages_are_read_from_the_file_or_the_log_tail() -> None:
    rc, doc, err = run_task("termination_messages")
    assert rc == 0, err
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
