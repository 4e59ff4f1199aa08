"""A second Ctrl-C kills everything the run started and exits 130 at once (review item 2).

The sidecar ignores SIGTERM (``trap '' TERM``, which its ``sleep`` inherits),
so a graceful stop waits the whole grace period; the second Ctrl-C must not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.cli.conftest import PODTASK_SCRIPT, write_task_file

GRACE_S = 30  # the pod's grace period: the test must end well before it
FAST_S = 8.0  # "at once", with room for a loaded machine

TASK = """
import time
from pathlib import Path

import podtask

FLAGS = Path("@FLAGS@")  # a hostPath: the test and the primary see the same files
MOUNT = {"name": "flags", "mountPath": str(FLAGS)}


def pod(sidecar_script: str) -> podtask.Pod:  # the primary, a sidecar; both see FLAGS
    return podtask.Pod(
        spec={
            "terminationGracePeriodSeconds": @GRACE@,
            "containers": [
                {"name": "primary", "volumeMounts": [MOUNT]},
                {
                    "name": "stubborn",
                    "image": "alpine",
                    "command": ["/bin/sh", "-c", sidecar_script],
                    "volumeMounts": [MOUNT],
                },
            ],
            "volumes": [{"name": "flags", "hostPath": {"path": str(FLAGS)}}],
        }
    )


# Ignores SIGTERM: only SIGKILL ends it.
POD = pod("trap '' TERM; touch @FLAGS@/sidecar; sleep @MARK@")
# Notes the pod's SIGTERM in a flag file, then goes on ignoring it.
NOTING_POD = pod(
    "trap 'touch @FLAGS@/term' TERM; touch @FLAGS@/trapping; while :; do sleep @MARK@ & wait; done"
)


@podtask.task(pod=NOTING_POD)
def quick() -> int:
    while not (FLAGS / "trapping").exists():  # the sidecar's trap is set
        time.sleep(0.005)
    return 42


@podtask.task(pod=POD)
def slow() -> int:
    (FLAGS / "running").touch()
    time.sleep(600)
    return 1


@podtask.workflow
def flow() -> int:
    return slow()


@podtask.task(pod=POD, timeout=1)
def late() -> int:
    (FLAGS / "running").touch()
    try:
        time.sleep(600)
    finally:
        (FLAGS / "stopped").touch()  # the timeout's SIGTERM reached the primary
    return 1
"""


class _Run:
    """``podtask run --json`` in a subprocess, its stderr read line by line as it comes."""

    def __init__(
        self, tmp_path: Path, task: str, *engine: str, env: dict[str, str] | None = None
    ) -> None:
        self.flags = tmp_path / "flags"
        self.flags.mkdir()
        self.mark = str(900000 + (time.monotonic_ns() // 1000) % 99999)  # the sidecar's sleep
        body = (
            TASK.replace("@FLAGS@", str(self.flags))
            .replace("@GRACE@", str(GRACE_S))
            .replace("@MARK@", self.mark)
        )
        path = write_task_file(tmp_path, "stubborn.py", body)
        self.proc = subprocess.Popen(
            [str(PODTASK_SCRIPT), "run", str(path), task, "--json", *engine],
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_for_line(self, text: str, timeout: float = 60.0) -> None:
        with self.changed:
            ok = self.changed.wait_for(
                lambda: any(text in line for line in self.lines), timeout=timeout
            )
        assert ok, f"{text!r} never printed: {self.lines}"

    def wait_for_flag(self, name: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not (self.flags / name).exists():
            assert self.proc.poll() is None, self.lines
            assert time.monotonic() < end, f"{name} never appeared: {self.lines}"
            time.sleep(0.01)

    def finish(self, timeout: float) -> tuple[int, dict[str, object]]:
        assert self.proc.stdout is not None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            pytest.fail(f"still running {timeout} s after the second Ctrl-C: {self.lines}")
        self.reader.join(timeout=10)
        with self.proc.stdout, self.proc.stderr:  # type: ignore[union-attr]
            return code, json.loads(self.proc.stdout.read())

    def sidecar_left(self) -> bool:
        found = subprocess.run(["pgrep", "-f", f"sleep {self.mark}"], capture_output=True)
        return found.returncode == 0


def _ctrl_c_twice(run: _Run, *flags: str) -> dict[str, object]:
    """Once ``flags`` exist: Ctrl-C, and again once podtask says it is stopping the pod.

    The second must end the command with 130 at once, leaving no sidecar.
    """
    for flag in flags:
        run.wait_for_flag(flag)
    run.proc.send_signal(signal.SIGINT)
    run.wait_for_line("stopping the pod")
    assert run.sidecar_left()  # the stubborn sidecar outlives the first SIGTERM
    began = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    code, doc = run.finish(timeout=FAST_S)
    took = time.monotonic() - began
    assert code == 130, (doc, run.lines)
    assert took < FAST_S < GRACE_S, took
    assert not run.sidecar_left(), "the sidecar survived the second Ctrl-C"
    assert not any("ignored SIGTERM" in line for line in run.lines), run.lines
    return doc


# Both containers run: the state the first Ctrl-C interrupts.
RUNNING = ("running", "sidecar")


def _aborted(doc: dict[str, object]) -> None:
    assert doc["phase"] == "ABORTED" and doc["interrupted"] is True, doc


def test_a_second_ctrl_c_kills_the_pod_and_exits_130_at_once(
    tmp_path: Path, needs_root: None
) -> None:
    _aborted(_ctrl_c_twice(_Run(tmp_path, "slow"), *RUNNING))


def test_a_second_ctrl_c_deletes_the_kubernetes_pod_at_once(
    tmp_path: Path, needs_root: None
) -> None:
    """On kubernetes the second Ctrl-C deletes the pod again, with gracePeriodSeconds=0."""
    from podtask.testing.apiserver import ApiServer

    with ApiServer.start() as srv:
        env = {"KUBECONFIG": str(srv.kubeconfig_path)}
        run = _Run(tmp_path, "slow", "--engine", "kubernetes", env=env)
        _aborted(_ctrl_c_twice(run, *RUNNING))


@pytest.mark.podman
def test_a_second_ctrl_c_kills_the_podman_pod_at_once(tmp_path: Path, needs_root: None) -> None:
    from tests.conformance.conftest import podman_leftovers, podman_problem

    problem = podman_problem()
    if problem:
        pytest.skip(str(problem))
    doc = _ctrl_c_twice(_Run(tmp_path, "slow", "--engine", "podman"), *RUNNING)
    _aborted(doc)
    assert podman_leftovers(f"podtask.io/run-id={doc['run_id']}") == ""


def test_a_second_ctrl_c_in_the_grace_after_a_timeout_keeps_the_timeout(
    tmp_path: Path, needs_root: None
) -> None:
    """The timeout stopped the primary and the sidecar's grace runs: Ctrl-C twice -> 130 now."""
    doc = _ctrl_c_twice(_Run(tmp_path, "late"), "stopped")
    assert doc["phase"] == "FAILED" and doc["reason"] == "Timeout", doc
    assert doc["interrupted"] is True, doc


def test_a_second_ctrl_c_in_the_grace_after_the_primary_returned_keeps_its_result(
    tmp_path: Path, needs_root: None
) -> None:
    """The primary returned 42 and the sidecar's grace runs: Ctrl-C twice -> 130 now, 42 kept."""
    # "term": the sidecar got the pod's SIGTERM, so the primary is done and its grace runs.
    doc = _ctrl_c_twice(_Run(tmp_path, "quick"), "term")
    assert doc["phase"] == "SUCCEEDED" and doc["outputs"] == {"o0": 42}, doc
    assert doc["interrupted"] is True, doc


def test_a_second_ctrl_c_kills_a_workflows_pods_at_once(tmp_path: Path, needs_root: None) -> None:
    doc = _ctrl_c_twice(_Run(tmp_path, "flow"), *RUNNING)
    assert doc["phase"] == "ABORTED", doc
