"""Helpers for the run tests: the real CLI, JSON results, and a scan for leftover processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

TASKS = Path(__file__).parent / "tasks" / "lifecycle_tasks.py"


def namespaces_ok() -> bool:
    from podtask.engines.local.linux import namespaces_available

    return namespaces_available() is None


needs_namespaces = pytest.mark.skipif(
    not namespaces_ok(), reason="Linux namespaces are not available here"
)


@pytest.fixture
def mark(monkeypatch: pytest.MonkeyPatch) -> str:
    """A unique word that the test's sidecars carry on their command line."""
    value = f"podtask-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("PODTASK_TEST_MARK", value)
    return value


def pids_with(word: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if word.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (the whole run, however deep its containers are)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for kid in children.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def podtask(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podtask", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def run_json(
    task: str, *args: str, file: Path = TASKS, timeout: float = 120
) -> tuple[int, dict[str, Any], str]:
    r = podtask("run", str(file), task, "--json", *args, timeout=timeout)
    try:
        doc = json.loads(r.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON on stdout (rc={r.returncode}): {r.stdout!r}\nstderr: {r.stderr}")
    return r.returncode, doc, r.stderr


def container(doc: dict[str, Any], name: str, attempt: int | None = None) -> dict[str, Any]:
    rows = [
        c
        for c in doc["containers"]
        if c["name"] == name and (attempt is None or c["attempt"] == attempt)
    ]
    assert rows, f"no container {name} in {doc['containers']}"
    return rows[-1]


def start_background(task: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(TASKS), task, "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
