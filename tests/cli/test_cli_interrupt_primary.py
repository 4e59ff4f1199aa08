"""A primary stopped by podtask (timeout, Ctrl-C) says so in one line, not a traceback (item 11).

The SIGTERM is podtask's doing, not a bug in the task: ten lines of
podtask's own frames in the task's log looked like the user's error.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import PODTASK_SCRIPT, run_script, write_task_file

TASK = """
import time
from pathlib import Path

import podtask

FLAGS = Path("@FLAGS@")
POD = podtask.Pod(
    spec={
        "containers": [
            {"name": "primary", "volumeMounts": [{"name": "flags", "mountPath": str(FLAGS)}]}
        ],
        "volumes": [{"name": "flags", "hostPath": {"path": str(FLAGS)}}],
    }
)


@podtask.task(pod=POD, timeout=1)
def late() -> None:
    time.sleep(600)


@podtask.task(pod=POD)
def waiting() -> None:
    (FLAGS / "running").touch()
    time.sleep(600)


@podtask.task(pod=POD)
def broken() -> None:
    raise ValueError("the task's own bug")
"""


def _task(tmp_path: Path) -> Path:
    flags = tmp_path / "flags"
    flags.mkdir()
    return write_task_file(tmp_path, "stopped.py", TASK.replace("@FLAGS@", str(flags)))


def _assert_one_line_stop(out: str, task: Path, function: str) -> None:
    assert "Traceback" not in out, out
    assert "podtask.entrypoint" not in out, out
    stops = [line for line in out.splitlines() if "stopped by SIGTERM" in line]
    assert len(stops) == 1, out
    assert f"{task}:" in stops[0] and f"in {function}" in stops[0], stops


def test_a_timeout_shows_one_line_not_a_traceback(tmp_path: Path, needs_root: None) -> None:
    task = _task(tmp_path)
    done = run_script("run", str(task), "late")
    assert done.returncode == 1, done
    assert "Timeout" in done.stderr, done.stderr
    _assert_one_line_stop(done.stdout, task, "late")


def test_ctrl_c_shows_one_line_not_a_traceback(tmp_path: Path, needs_root: None) -> None:
    task = _task(tmp_path)
    proc = subprocess.Popen(
        [str(PODTASK_SCRIPT), "run", str(task), "waiting"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    end = time.monotonic() + 60
    while not (tmp_path / "flags" / "running").exists():
        assert proc.poll() is None and time.monotonic() < end, proc.communicate(timeout=60)
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    _assert_one_line_stop(out, task, "waiting")


def test_the_tasks_own_error_still_shows_its_traceback(tmp_path: Path, needs_root: None) -> None:
    done = run_script("run", str(_task(tmp_path)), "broken")
    assert done.returncode == 1, done
    assert "Traceback" in done.stdout and "ValueError: the task's own bug" in done.stdout, done
