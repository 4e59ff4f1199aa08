"""Issue 11 item 7: a silent container's logs say so; describe of a LOST run says when podtask
was last seen alive and which containers it knew of."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.conftest import write_task_file
from tests.conftest import run_cli

SILENT = """
import podtask

@podtask.task
def silent() -> None:
    pass
"""

SLOW = """
import time
import podtask

spec = {"containers": [
    {"name": "primary"},
    {"name": "helper", "image": "alpine", "command": ["sleep", "600"]},
]}

@podtask.task(pod=podtask.Pod(spec=spec, primary_container="primary"))
def slow() -> None:
    print("working", flush=True)
    time.sleep(600)
"""


def test_logs_of_a_silent_container_say_so(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(tmp_path, "silent.py", SILENT)
    run = run_cli("run", str(task), "--json")
    assert run.returncode == 0, run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    logs = run_cli("logs", run_id)
    assert logs.returncode == 0
    assert logs.stdout == ""
    assert "[primary] (wrote nothing to stdout or stderr)" in logs.stderr
    one = run_cli("logs", run_id, "-c", "primary")
    assert one.returncode == 0 and one.stdout == ""
    assert "container 'primary' wrote nothing to stdout or stderr" in one.stderr


def _wait_running(deadline: float) -> str:
    while time.monotonic() < deadline:
        runs = json.loads(run_cli("runs", "--json").stdout)
        if runs and runs[0]["phase"] == "RUNNING":
            return str(runs[0]["run_id"])
        time.sleep(0.1)
    raise AssertionError("the run never reached RUNNING")


def test_describe_of_a_lost_run_shows_last_sign_of_life_and_containers(
    tmp_path: Path, needs_root: None
) -> None:
    task = write_task_file(tmp_path, "slow.py", SLOW)
    with subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(task)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    ) as proc:
        assert proc.stdout is not None
        try:
            run_id = _wait_running(time.monotonic() + 60)
            # Wait for the primary's first line: the run has left traces by then.
            while b"working" not in proc.stdout.readline():
                pass
            killed_at = time.time()
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # Let the loss be noticed well after the kill, as a user coming back later would.
    noticed_after = killed_at + 1.5
    while time.time() < noticed_after:
        time.sleep(0.1)
    described = run_cli("describe", run_id)
    assert described.returncode == 0, described.stderr
    out = described.stdout
    assert "Phase:      LOST" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("Last seen:"))
    seen = dt.datetime.strptime(line.split(":", 1)[1].strip()[:19], "%Y-%m-%d %H:%M:%S")
    assert seen.timestamp() <= killed_at + 1  # second precision of the display
    assert "noticed" in out
    assert "primary" in out and "helper" in out
