"""One retry policy read from the verdict: the task's retries for its own failures, a
budget of their own for system failures, none for failures no retry can fix."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podtask._compile.render import Capabilities
from podtask._lifecycle import TaskPhase, Verdict, retry_budget
from podtask._run import (
    AttemptContext,
    AttemptOutcome,
    EngineOptions,
    LocalOptions,
    Runner,
    RunOptions,
)
from tests.run.conftest import needs_namespaces, podtask, run_json

TASKS = Path(__file__).parent / "tasks" / "retry_tasks.py"


@pytest.mark.parametrize(
    ("verdict", "budget"),
    [
        (Verdict(TaskPhase.FAILED, "Error"), "user"),
        (Verdict(TaskPhase.FAILED, "Timeout", retryable=True), "user"),
        (Verdict(TaskPhase.FAILED, "Evicted", retryable=True, system=True), "system"),
        (Verdict(TaskPhase.FAILED, "ImagePullBackOff", retryable=True, system=True), "system"),
        (Verdict(TaskPhase.FAILED, "InvalidImageName"), None),
        (Verdict(TaskPhase.FAILED, "CreateContainerConfigError"), None),
        (Verdict(TaskPhase.ABORTED, "Aborted"), None),
        (Verdict(TaskPhase.SUCCEEDED, "Completed"), None),
    ],
)
def test_budget_of_each_verdict(verdict: Verdict, budget: str | None) -> None:
    assert retry_budget(verdict) == budget


class BadImageEngine:
    """An engine whose every attempt ends as a kubelet reports an unparsable image name."""

    name = "bad-image"
    options_type = LocalOptions

    def __init__(self) -> None:
        self.attempts = 0

    def capabilities(self, options: EngineOptions, run_dir: Path) -> Capabilities:
        return Capabilities()

    def prepare(self, ctx: AttemptContext) -> None:
        pass

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        self.attempts += 1
        why = 'couldn\'t parse image name "Bad::Name": invalid reference format'
        return AttemptOutcome(Verdict(TaskPhase.FAILED, "InvalidImageName", why), ())


def test_bad_image_name_is_tried_once_whatever_the_retries(tmp_path: Path) -> None:
    engine = BadImageEngine()
    result = Runner(str(TASKS), "bad_config", RunOptions(engine=engine)).run()
    assert (result.phase, result.reason, result.attempts) == ("FAILED", "InvalidImageName", 1)
    assert engine.attempts == 1


@needs_namespaces
def test_user_failure_with_one_retry_runs_twice() -> None:
    rc, doc, _ = run_json("always_fails", file=TASKS)
    assert rc == 1
    assert (doc["phase"], doc["attempts"]) == ("FAILED", 2)
    assert doc["retry_budgets"] == [None, "user"]
    described = podtask("describe", doc["run_id"]).stdout
    assert "Retries:    attempt 2 (user)" in described


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from tests.conformance.conftest import kubernetes_problem

    if kubernetes_problem():
        pytest.skip(str(kubernetes_problem()))
    from podtask.testing.apiserver import ApiServer

    with ApiServer.start(port=0, version="v1.30.0") as srv:
        yield srv


def _k8s_run(srv: Any, task: str, **kw: Any) -> Any:
    from podtask.engines.kubernetes.engine import KubernetesEngine

    engine = KubernetesEngine(kubeconfig=str(srv.kubeconfig_path))
    inputs = kw.pop("inputs", {})
    return Runner(str(TASKS), task, RunOptions(engine=engine, inputs=inputs, **kw)).run()


def _evict_first_running_pod(srv: Any) -> threading.Thread:
    """Evict the first pod whose primary runs (waits for that state, then injects)."""
    from tests.kubernetes.conftest import pods

    def evict() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for pod in pods(srv):
                for s in pod.get("status", {}).get("containerStatuses") or []:
                    if s.get("name") == "primary" and "running" in s.get("state", {}):
                        srv.faults.evict(pod["metadata"]["namespace"], pod["metadata"]["name"])
                        return
            time.sleep(0.05)

    thread = threading.Thread(target=evict)
    thread.start()
    return thread


@pytest.mark.slow
def test_eviction_is_retried_on_the_system_budget_with_no_task_retries(server: Any) -> None:
    thread = _evict_first_running_pod(server)
    result = _k8s_run(server, "sleeps", inputs={"seconds": 3.0})
    thread.join()
    assert (result.phase, result.attempts) == ("SUCCEEDED", 2), result.message
    assert result.retry_budgets == [None, "system"]


@pytest.mark.slow
def test_no_system_retries_left_means_the_eviction_fails_the_run(server: Any) -> None:
    thread = _evict_first_running_pod(server)
    result = _k8s_run(server, "sleeps", inputs={"seconds": 3.0}, system_retries=0)
    thread.join()
    assert (result.phase, result.reason, result.attempts) == ("FAILED", "Evicted", 1)


@pytest.mark.slow
def test_create_container_config_error_is_never_retried(server: Any) -> None:
    result = _k8s_run(server, "bad_config")
    assert (result.phase, result.reason, result.attempts) == (
        "FAILED",
        "CreateContainerConfigError",
        1,
    ), result.message
