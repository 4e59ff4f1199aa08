"""Issue 8 item 2 of the soak: a ``kill -9`` while a run is being created leaves it absent or
LOST, never a run directory without a record (which ``runs`` only swept after 10 minutes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

TASK = """
import podtask

@podtask.task
def quick() -> int:
    return 1
"""


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    return raw[raw.rindex(b")") + 2 :].split()[0].decode()


def _killed_at(point: str, tmp_path: Path, home: Path) -> None:
    """Run ``podtask run`` until it stops at ``point``, then ``kill -9`` it there."""
    task = tmp_path / "quick.py"
    task.write_text(textwrap.dedent(TASK))
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(task)],
        env={**os.environ, "PODTASK_TEST_STOP_AT": point},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    end = time.monotonic() + 60
    while _state(proc.pid) != "T":
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"podtask never reached {point}"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def _runs(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podtask", "runs", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.mark.parametrize("point", ["run-dir-staged", "before-record"])
def test_kill_9_before_the_record_leaves_no_run_directory(
    point: str, tmp_path: Path, home: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the local engine needs root")
    _killed_at(point, tmp_path, home)
    # It was there: the kill landed after the directory was made.
    assert any((home / "runs").iterdir()), "the kill landed before any directory existed"
    assert _runs(home).stdout.strip() == "[]"
    # The next `podtask runs` sweeps it at once: its owner is dead, not just old.
    assert list((home / "runs").iterdir()) == []


def test_a_live_creators_directory_is_left_alone(tmp_path: Path, home: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the local engine needs root")
    task = tmp_path / "quick.py"
    task.write_text(textwrap.dedent(TASK))
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(task)],
        env={**os.environ, "PODTASK_TEST_STOP_AT": "before-record"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 60
        while _state(proc.pid) != "T":
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < end
            time.sleep(0.01)
        _runs(home)
        (made,) = list((home / "runs").iterdir())  # its creator still runs: not swept
        proc.send_signal(signal.SIGCONT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert made.is_dir() and made.name in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
