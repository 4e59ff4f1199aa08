from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from podtask._storage import current_process_identity, process_alive, procs


def test_own_identity_is_alive() -> None:
    pid, start = current_process_identity()
    assert pid == os.getpid()
    if os.path.exists("/proc/self/stat"):
        assert start > 0
    assert process_alive(pid, start)
    assert process_alive(pid, 0)


def test_exited_process_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid, 0)
    assert not process_alive(0, 0) and not process_alive(-5, 0)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_zombie_is_dead_and_start_time_mismatch_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Not yet waited for: once it exits it is a zombie, which counts as dead.
        for _ in range(500):
            if not process_alive(child.pid, 0):
                break
            time.sleep(0.01)
        assert not process_alive(child.pid, 0)
    finally:
        child.wait()
    pid, start = current_process_identity()
    assert not process_alive(pid, start + 1)


def test_fallback_without_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procs, "_have_proc", lambda: False)
    pid, start = current_process_identity()
    assert start == 0
    assert process_alive(pid, 12345)  # start time cannot be checked: pid only
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid, 0)
