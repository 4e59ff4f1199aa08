"""podman-only behaviour: images, binaries, and no leftovers on any path (incl. ``kill -9``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conformance.conftest import podman_leftovers, podman_problem

TASKS = Path(__file__).parent.parent / "conformance" / "tasks" / "conformance_tasks.py"
PROBLEM = podman_problem()

pytestmark = [pytest.mark.podman, pytest.mark.skipif(bool(PROBLEM), reason=str(PROBLEM))]


@pytest.fixture
def mark(monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"t{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("PODTASK_TEST_MARK", value)
    return value


def podtask(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podtask", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or os.environ.copy(),
    )


def background(task: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "podtask",
            "run",
            str(TASKS),
            task,
            "--json",
            "--engine",
            "podman",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def wait_until(predicate: object, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def running(mark: str) -> bool:
    r = subprocess.run(
        [
            "podman",
            "ps",
            "--filter",
            f"label=podtask.io/test-mark={mark}",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return "primary" in r.stdout


def no_temp_dirs(run_id: str) -> bool:
    return not [p for d in ("/tmp", "/dev/shm") for p in Path(d).glob(f"podtask-{run_id[:40]}-*")]


def test_missing_image_fails_fast_naming_image_and_container() -> None:
    started = time.monotonic()
    r = podtask("run", str(TASKS), "missing_image", "--engine", "podman")
    elapsed = time.monotonic() - started
    assert r.returncode == 2, r.stderr
    assert "example.invalid/podtask-nothere:1.0" in r.stderr and "'ghost'" in r.stderr
    assert "spec.containers[1].image" in r.stderr
    assert elapsed < 15, elapsed
    assert podman_leftovers("podtask.io/task=missing-image") == ""


def test_missing_podman_binary_is_exit_2_with_an_install_hint(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    r = podtask("run", str(TASKS), "sidecar_never_exits", "--engine", "podman", env=env)
    assert r.returncode == 2, r.stderr
    assert "podman" in r.stderr and "install" in r.stderr


def test_volume_type_podman_cannot_honour_is_a_spec_error() -> None:
    r = podtask("run", str(TASKS), "needs_config_map", "--engine", "podman")
    assert r.returncode == 2
    assert "spec.volumes[0].configMap" in r.stderr
    assert podman_leftovers("podtask.io/task=needs-config-map") == ""


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_interrupt_stops_and_removes_the_pod(mark: str, how: str) -> None:
    proc = background("marked_sleeper")
    wait_until(lambda: running(mark), 30, "the primary to run")
    proc.send_signal(getattr(signal, how))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["phase"] == "ABORTED"
    assert podman_leftovers(f"podtask.io/test-mark={mark}") == ""
    assert no_temp_dirs(doc["run_id"])


def test_kill_9_of_podtask_leaves_nothing_behind(mark: str) -> None:
    proc = background("marked_sleeper")
    wait_until(lambda: running(mark), 30, "the primary to run")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    wait_until(
        lambda: podman_leftovers(f"podtask.io/test-mark={mark}") == "",
        20,
        "the guardian to clean up",
    )
    runs = json.loads(podtask("runs", "--json").stdout)
    assert runs[0]["phase"] == "LOST"
    wait_until(lambda: no_temp_dirs(runs[0]["run_id"]), 10, "the volume directories to go")


def test_concurrent_runs_do_not_share_empty_dirs() -> None:
    procs = [background("typed_outputs", "--a", str(a)) for a in (1, 2)]
    results = [p.communicate(timeout=90) for p in procs]
    totals = sorted(json.loads(out)["outputs"]["total"] for out, _ in results)
    assert totals == [21, 22]
