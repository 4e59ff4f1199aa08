"""decide(): one table row per behaviour, plus purity, argument checks and invariants."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, replace
from typing import Any

import pytest

from podtask._errors import SpecError
from podtask._lifecycle import (
    INIT,
    NATIVE_SIDECAR,
    REGULAR,
    RUNNING,
    TERMINATED,
    WAITING,
    ContainerStatus,
    PodCondition,
    PodStatus,
    TaskPhase,
    Verdict,
    decide,
)

SUCCEEDED, FAILED, ABORTED = TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.ABORTED
QUEUED, INITIALIZING, RUN = TaskPhase.QUEUED, TaskPhase.INITIALIZING, TaskPhase.RUNNING

T0 = 1000.0  # pending_since
END = 1100.0  # when the primary ended
BEFORE, AFTER = END - 50, END + 1
PAST_GRACE, IN_GRACE = T0 + 200, T0 + 30  # "now" values for the default 180 s grace


def pod(*containers: ContainerStatus, **kw: Any) -> PodStatus:
    kw.setdefault("spec_containers", ("main", "db"))
    return PodStatus(primary="main", containers=containers, **kw)


def ended(name: str, code: int | None = 0, reason: str | None = None, **kw: Any) -> ContainerStatus:
    if reason is None and code is not None:
        reason = "Completed" if code == 0 else "Error"
    kw.setdefault("finished_at", END if name == "main" else None)
    return ContainerStatus(name, state=TERMINATED, exit_code=code, reason=reason, **kw)


def running(name: str, **kw: Any) -> ContainerStatus:
    kw.setdefault("ready", True)
    return ContainerStatus(name, state=RUNNING, **kw)


def waiting(name: str, reason: str, **kw: Any) -> ContainerStatus:
    return ContainerStatus(name, state=WAITING, reason=reason, **kw)


def pull_wait(reason: str, now: float, name: str = "main", kind: str = REGULAR) -> PodStatus:
    image = waiting(name, reason, kind=kind, message="back-off pulling image")
    return pod(image, pending_since=T0, now=now)


def disrupted(reason: str) -> tuple[PodCondition, ...]:
    return (PodCondition("DisruptionTarget", "True", reason=reason),)


MAIN_RUNNING = running("main")
DB_RUNNING = running("db")


@dataclass(frozen=True)
class Case:
    id: str
    status: PodStatus
    phase: TaskPhase
    reason: str
    retryable: bool = False
    system: bool = False
    message: tuple[str, ...] = ()  # substrings of Verdict.message
    issues: tuple[str, ...] = ()  # one substring per expected sidecar issue, in order
    policy: str = "ignore"


CASES = [
    # --- the primary ended: it decides --------------------------------------------------
    Case(
        "exit0-sidecar-still-running",
        pod(ended("main"), DB_RUNNING),
        SUCCEEDED,
        "Completed",
        message=("'main'",),
    ),
    Case(
        "exit0-sidecar-stopped-by-us-143",
        pod(ended("main"), ended("db", 143, stopped_by_us=True)),
        SUCCEEDED,
        "Completed",
    ),
    Case(
        "exit0-sidecar-143-after-primary",
        pod(ended("main"), ended("db", 143, finished_at=AFTER)),
        SUCCEEDED,
        "Completed",
    ),
    Case(
        "exit0-sidecar-137-no-timestamps",
        pod(ended("main", finished_at=None), ended("db", 137)),
        SUCCEEDED,
        "Completed",
    ),
    Case(
        "exit0-sidecar-sigterm-after-primary",
        pod(ended("main"), ended("db", None, "Error", signal=15, finished_at=AFTER)),
        SUCCEEDED,
        "Completed",
    ),
    Case(
        "exit0-sidecar-exit1-during-teardown",
        pod(ended("main"), ended("db", 1, finished_at=AFTER)),
        SUCCEEDED,
        "Completed",
    ),
    Case(
        "exit0-sidecar-exit0-early",
        pod(ended("main"), ended("db", 0, finished_at=BEFORE)),
        SUCCEEDED,
        "Completed",
    ),
    Case(
        "exit0-sidecar-crashed-before-ignore",
        pod(ended("main"), ended("db", 3, finished_at=BEFORE)),
        SUCCEEDED,
        "Completed",
        issues=("sidecar 'db' exited with code 3 (Error) before the primary",),
    ),
    Case(
        "exit0-sidecar-crashed-before-fail",
        pod(ended("main"), ended("db", 3, finished_at=BEFORE)),
        FAILED,
        "SidecarFailed",
        message=("sidecar 'db'", "code 3", "then completed"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "exit0-sidecar-143-before-primary-nobody-stopped-it",
        pod(ended("main"), ended("db", 143, finished_at=BEFORE)),
        SUCCEEDED,
        "Completed",
        issues=("sidecar 'db' exited with code 143",),
    ),
    Case(
        "exit0-beats-oomkilled-reason", pod(ended("main", 0, "OOMKilled")), SUCCEEDED, "Completed"
    ),
    Case("exit0-beats-aborted", pod(ended("main"), aborted=True), SUCCEEDED, "Completed"),
    Case(
        "exit0-stopped-by-us-still-completed",
        pod(ended("main", stopped_by_us=True), timed_out=True),
        SUCCEEDED,
        "Completed",
    ),
    Case(
        "oomkilled",
        pod(ended("main", 137, "OOMKilled"), DB_RUNNING),
        FAILED,
        "OOMKilled",
        retryable=True,
        message=("memory", "137"),
    ),
    Case(
        "oomkilled-signal-9",
        pod(ended("main", None, "OOMKilled", signal=9)),
        FAILED,
        "OOMKilled",
        retryable=True,
        message=("SIGKILL", "137"),
    ),
    Case(
        "143-node-shutdown",
        pod(ended("main", 143), reason="NodeShutdown"),
        FAILED,
        "Interrupted",
        retryable=True,
        system=True,
        message=("143", "NodeShutdown"),
    ),
    Case(
        "137-shutdown",
        pod(ended("main", 137), reason="Shutdown"),
        FAILED,
        "Interrupted",
        retryable=True,
        system=True,
        message=("137",),
    ),
    Case(
        "143-terminated-gke",
        pod(ended("main", 143), reason="Terminated"),
        FAILED,
        "Interrupted",
        retryable=True,
        system=True,
    ),
    Case(
        "247-shutdown-flyte-code",
        pod(ended("main", 247), reason="Shutdown"),
        FAILED,
        "Interrupted",
        retryable=True,
        system=True,
        message=("247",),
    ),
    Case(
        "sigterm-preemption-condition",
        pod(ended("main", None, "Error", signal=15), conditions=disrupted("PreemptionByScheduler")),
        FAILED,
        "Interrupted",
        retryable=True,
        system=True,
        message=("SIGTERM", "143"),
    ),
    Case(
        "143-preempting",
        pod(ended("main", 143), reason="Preempting"),
        FAILED,
        "Interrupted",
        retryable=True,
        system=True,
    ),
    Case(
        "137-evicted",
        pod(ended("main", 137), reason="Evicted", message="low on memory"),
        FAILED,
        "Evicted",
        retryable=True,
        system=True,
        message=("137", "low on memory"),
    ),
    Case(
        "143-eviction-api",
        pod(ended("main", 143), conditions=disrupted("EvictionByEvictionAPI")),
        FAILED,
        "Evicted",
        retryable=True,
        system=True,
    ),
    Case("143-no-disruption-is-users", pod(ended("main", 143)), FAILED, "Error", message=("143",)),
    Case(
        "exit1",
        pod(ended("main", 1, message="ValueError: boom"), DB_RUNNING),
        FAILED,
        "Error",
        message=("'main'", "code 1", "ValueError: boom"),
    ),
    Case(
        "exit1-after-shutdown-not-a-signal",
        pod(ended("main", 1), reason="NodeShutdown"),
        FAILED,
        "Error",
        message=("code 1",),
    ),
    Case(
        "start-error",
        pod(ended("main", 128, "StartError", message="exec: not found")),
        FAILED,
        "StartError",
        message=("128", "exec: not found"),
    ),
    Case(
        "container-cannot-run",
        pod(ended("main", 127, "ContainerCannotRun")),
        FAILED,
        "ContainerCannotRun",
        message=("127",),
    ),
    Case(
        "nonzero-with-bogus-completed-reason",
        pod(ended("main", 2, "Completed")),
        FAILED,
        "Error",
        message=("code 2",),
    ),
    Case(
        "unknown-exit-code", pod(ended("main", None, None)), FAILED, "Error", message=("unknown",)
    ),
    Case(
        "container-status-unknown",
        pod(ended("main", 137, "ContainerStatusUnknown")),
        FAILED,
        "ContainerStatusUnknown",
        retryable=True,
        system=True,
        message=("137",),
    ),
    Case(
        "exit1-beats-timeout",
        pod(ended("main", 1), timed_out=True),
        FAILED,
        "Error",
        message=("code 1",),
    ),
    Case("exit1-beats-deleted", pod(ended("main", 1), deleted=True), FAILED, "Error"),
    Case(
        "stopped-by-us-timeout",
        pod(ended("main", 143, stopped_by_us=True), timed_out=True),
        FAILED,
        "Timeout",
        retryable=True,
        message=("timeout", "143"),
    ),
    Case(
        "sigterm-unflagged-timeout",
        pod(ended("main", 143), timed_out=True),
        FAILED,
        "Timeout",
        retryable=True,
    ),
    Case(
        "stopped-by-us-abort",
        pod(ended("main", 130, stopped_by_us=True), aborted=True),
        ABORTED,
        "Aborted",
        message=("130",),
    ),
    Case(
        "sigint-while-aborted",
        pod(ended("main", 130), aborted=True),
        ABORTED,
        "Aborted",
        message=("130",),
    ),
    Case(
        "sigint-no-cause-is-users",
        pod(ended("main", None, "Error", signal=2)),
        FAILED,
        "Error",
        message=("SIGINT", "130"),
    ),
    Case(
        "143-while-deleted",
        pod(ended("main", 143), deleted=True),
        FAILED,
        "PodDeleted",
        retryable=True,
        system=True,
    ),
    Case(
        "stopped-by-us-no-cause",
        pod(ended("main", 143, stopped_by_us=True)),
        FAILED,
        "Stopped",
        system=True,
        message=("143",),
    ),
    Case(
        "stopped-after-sidecar-failed-fail-policy",
        pod(ended("main", 143, stopped_by_us=True), ended("db", 2, finished_at=BEFORE)),
        FAILED,
        "SidecarFailed",
        message=("sidecar 'db'", "code 2", "then exited with code 143"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "exit1-fail-policy-sidecar-failed-first",
        pod(ended("main", 1), ended("db", 2, finished_at=BEFORE)),
        FAILED,
        "SidecarFailed",
        message=("'db'", "code 2", "then exited with code 1"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "exit1-ignore-policy-sidecar-failed-first",
        pod(ended("main", 1), ended("db", 2, finished_at=BEFORE)),
        FAILED,
        "Error",
        message=("'main'", "code 1"),
        issues=("'db'",),
    ),
    # --- timeout, abort, delete before the primary ended ----------------------------------
    Case(
        "timeout-running",
        pod(MAIN_RUNNING, DB_RUNNING, timed_out=True),
        FAILED,
        "Timeout",
        retryable=True,
    ),
    Case(
        "timeout-beats-abort",
        pod(MAIN_RUNNING, timed_out=True, aborted=True),
        FAILED,
        "Timeout",
        retryable=True,
    ),
    Case(
        "timeout-beats-sidecar-fail",
        pod(MAIN_RUNNING, ended("db", 3), timed_out=True),
        FAILED,
        "Timeout",
        retryable=True,
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "timeout-sidecars-killed-by-teardown",
        pod(MAIN_RUNNING, ended("db", 143), timed_out=True),
        FAILED,
        "Timeout",
        retryable=True,
    ),
    Case("aborted", pod(MAIN_RUNNING, aborted=True), ABORTED, "Aborted"),
    Case(
        "deleted",
        pod(MAIN_RUNNING, deleted=True),
        FAILED,
        "PodDeleted",
        retryable=True,
        system=True,
    ),
    Case(
        "deleted-while-pending",
        pod(deleted=True, phase="Pending"),
        FAILED,
        "PodDeleted",
        retryable=True,
        system=True,
    ),
    # --- pod phases without a primary exit ------------------------------------------------
    Case("pod-succeeded-no-statuses", pod(phase="Succeeded"), SUCCEEDED, "Completed"),
    Case(
        "pod-failed-evicted",
        pod(phase="Failed", reason="Evicted", message="disk pressure"),
        FAILED,
        "Evicted",
        retryable=True,
        system=True,
        message=("disk pressure",),
    ),
    Case(
        "pod-failed-deadline",
        pod(phase="Failed", reason="DeadlineExceeded"),
        FAILED,
        "Timeout",
        retryable=True,
        message=("activeDeadlineSeconds",),
    ),
    Case(
        "pod-failed-node-shutdown-stale-running",
        pod(MAIN_RUNNING, phase="Failed", reason="NodeShutdown"),
        FAILED,
        "Interrupted",
        retryable=True,
        system=True,
    ),
    Case(
        "pod-failed-admission",
        pod(phase="Failed", reason="UnexpectedAdmissionError"),
        FAILED,
        "UnexpectedAdmissionError",
        retryable=True,
        system=True,
    ),
    Case(
        "pod-failed-no-reason",
        pod(phase="Failed"),
        FAILED,
        "PodFailed",
        retryable=True,
        system=True,
        message=("'main'",),
    ),
    # --- init containers and native sidecars --------------------------------------------
    Case(
        "init-exit1",
        pod(ended("setup", 1, kind=INIT), waiting("main", "PodInitializing")),
        FAILED,
        "InitContainerFailed",
        message=("init container 'setup'", "code 1"),
    ),
    Case(
        "init-exit1-pod-failed",
        pod(ended("setup", 1, kind=INIT), phase="Failed"),
        FAILED,
        "InitContainerFailed",
        message=("'setup'",),
    ),
    Case(
        "init-running",
        pod(running("setup", kind=INIT), waiting("main", "PodInitializing")),
        INITIALIZING,
        "PodInitializing",
        message=("init container 'setup'",),
    ),
    Case(
        "init-invalid-image",
        pod(waiting("setup", "InvalidImageName", kind=INIT)),
        FAILED,
        "InitContainerFailed",
        message=("'setup'", "InvalidImageName"),
    ),
    Case(
        "init-crashloop",
        pod(waiting("setup", "CrashLoopBackOff", kind=INIT, restart_count=3)),
        FAILED,
        "InitContainerFailed",
        message=("'setup'", "3 restarts"),
    ),
    Case(
        "init-pull-past-grace",
        pull_wait("ImagePullBackOff", PAST_GRACE, "setup", INIT),
        FAILED,
        "InitContainerFailed",
        retryable=True,
        system=True,
    ),
    Case(
        "init-done-primary-running", pod(ended("setup", 0, kind=INIT), MAIN_RUNNING), RUN, "Running"
    ),
    Case(
        "native-sidecar-starting",
        pod(running("proxy", kind=NATIVE_SIDECAR, ready=False), phase="Pending"),
        INITIALIZING,
        "Initializing",
        message=("native sidecar 'proxy' is starting",),
    ),
    Case(
        "native-sidecar-crashed-primary-running",
        pod(ended("proxy", 1, kind=NATIVE_SIDECAR), MAIN_RUNNING),
        RUN,
        "Running",
        issues=("native sidecar 'proxy' exited with code 1",),
    ),
    Case(
        "native-sidecar-bad-image-blocks-primary",
        pod(
            waiting("proxy", "InvalidImageName", kind=NATIVE_SIDECAR),
            waiting("main", "PodInitializing"),
        ),
        FAILED,
        "SidecarFailed",
        message=("native sidecar 'proxy'", "InvalidImageName", "cannot start"),
        issues=("'proxy'",),
    ),
    Case(
        "native-sidecar-pull-past-grace-blocks-primary",
        pull_wait("ImagePullBackOff", PAST_GRACE, "proxy", NATIVE_SIDECAR),
        FAILED,
        "SidecarFailed",
        retryable=True,
        system=True,
        message=("'proxy'",),
        issues=("'proxy'",),
    ),
    Case(
        "native-sidecar-stopped-after-primary",
        pod(ended("main"), ended("proxy", 143, kind=NATIVE_SIDECAR, finished_at=AFTER)),
        SUCCEEDED,
        "Completed",
    ),
    # --- pending and waiting -------------------------------------------------------------
    Case(
        "unschedulable",
        pod(
            phase="Pending",
            conditions=(
                PodCondition(
                    "PodScheduled",
                    "False",
                    "Unschedulable",
                    "0/3 nodes are available: Insufficient cpu.",
                ),
            ),
        ),
        QUEUED,
        "Unschedulable",
        message=("0/3 nodes", "Insufficient cpu"),
    ),
    Case(
        "scheduling-gated",
        pod(
            phase="Pending", conditions=(PodCondition("PodScheduled", "False", "SchedulingGated"),)
        ),
        QUEUED,
        "SchedulingGated",
    ),
    Case(
        "container-creating",
        pod(waiting("main", "ContainerCreating"), phase="Pending"),
        INITIALIZING,
        "ContainerCreating",
    ),
    Case(
        "pod-initializing", pod(waiting("main", "PodInitializing")), INITIALIZING, "PodInitializing"
    ),
    Case(
        "err-image-pull-within-grace",
        pull_wait("ErrImagePull", IN_GRACE),
        INITIALIZING,
        "ErrImagePull",
        message=("30s", "grace 180s"),
    ),
    Case(
        "image-pull-backoff-past-grace",
        pull_wait("ImagePullBackOff", PAST_GRACE),
        FAILED,
        "ImagePullBackOff",
        retryable=True,
        system=True,
        message=("'main'", "200s"),
    ),
    Case(
        "err-image-pull-past-grace",
        pull_wait("ErrImagePull", PAST_GRACE),
        FAILED,
        "ImagePullBackOff",
        retryable=True,
        system=True,
    ),
    Case(
        "image-pull-exactly-grace",
        pull_wait("ImagePullBackOff", T0 + 180),
        INITIALIZING,
        "ImagePullBackOff",
    ),
    Case(
        "image-pull-no-clock",
        pod(waiting("main", "ImagePullBackOff"), pending_since=T0),
        INITIALIZING,
        "ImagePullBackOff",
    ),
    Case(
        "create-container-config-error",
        pod(waiting("main", "CreateContainerConfigError", message='secret "db" not found')),
        FAILED,
        "CreateContainerConfigError",
        message=("'main'", 'secret "db" not found'),
    ),
    Case(
        "create-container-error",
        pod(waiting("main", "CreateContainerError")),
        FAILED,
        "CreateContainerError",
        message=("'main'",),
    ),
    Case(
        "invalid-image-name",
        pod(waiting("main", "InvalidImageName")),
        FAILED,
        "InvalidImageName",
        message=("'main'",),
    ),
    Case(
        "err-image-never-pull",
        pod(waiting("main", "ErrImageNeverPull")),
        FAILED,
        "ErrImageNeverPull",
        message=("'main'",),
    ),
    Case(
        "primary-crashloop",
        pod(waiting("main", "CrashLoopBackOff", restart_count=1)),
        FAILED,
        "CrashLoopBackOff",
        message=("'main'", "1 restart"),
    ),
    # --- sidecar trouble while the primary runs or starts ---------------------------------
    Case(
        "sidecar-invalid-image-ignore",
        pod(MAIN_RUNNING, waiting("db", "InvalidImageName")),
        RUN,
        "Running",
        issues=("sidecar 'db' cannot start (InvalidImageName)",),
    ),
    Case(
        "sidecar-invalid-image-not-blamed-on-primary",
        pod(waiting("main", "ContainerCreating"), waiting("db", "InvalidImageName")),
        INITIALIZING,
        "ContainerCreating",
        issues=("sidecar 'db'",),
    ),
    Case(
        "sidecar-invalid-image-fail",
        pod(MAIN_RUNNING, waiting("db", "InvalidImageName")),
        FAILED,
        "SidecarFailed",
        message=("sidecar 'db'", "InvalidImageName"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "sidecar-config-error-fail",
        pod(waiting("main", "ContainerCreating"), waiting("db", "CreateContainerConfigError")),
        FAILED,
        "SidecarFailed",
        message=("'db'", "CreateContainerConfigError"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "sidecar-pull-past-grace-ignore",
        pod(MAIN_RUNNING, waiting("db", "ImagePullBackOff"), pending_since=T0, now=PAST_GRACE),
        RUN,
        "Running",
        issues=("sidecar 'db' cannot pull its image (ImagePullBackOff) after 200s",),
    ),
    Case(
        "sidecar-pull-past-grace-fail",
        pod(MAIN_RUNNING, waiting("db", "ErrImagePull"), pending_since=T0, now=PAST_GRACE),
        FAILED,
        "SidecarFailed",
        retryable=True,
        system=True,
        message=("'db'", "ErrImagePull"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "sidecar-pull-within-grace",
        pod(MAIN_RUNNING, waiting("db", "ErrImagePull"), pending_since=T0, now=IN_GRACE),
        RUN,
        "Running",
        policy="fail",
    ),
    Case(
        "sidecar-crashloop-ignore",
        pod(
            MAIN_RUNNING, waiting("db", "CrashLoopBackOff", restart_count=4, message="back-off 40s")
        ),
        RUN,
        "Running",
        issues=("sidecar 'db' is in CrashLoopBackOff after 4 restarts: back-off 40s",),
    ),
    Case(
        "sidecar-crashloop-fail",
        pod(MAIN_RUNNING, waiting("db", "CrashLoopBackOff")),
        FAILED,
        "SidecarFailed",
        message=("'db'", "CrashLoopBackOff"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "sidecar-exit3-ignore",
        pod(MAIN_RUNNING, ended("db", 3)),
        RUN,
        "Running",
        issues=("sidecar 'db' exited with code 3 (Error)",),
    ),
    Case(
        "sidecar-exit3-fail",
        pod(MAIN_RUNNING, ended("db", 3)),
        FAILED,
        "SidecarFailed",
        message=("sidecar 'db'", "code 3"),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "sidecar-oom-fail",
        pod(MAIN_RUNNING, ended("db", 137, "OOMKilled")),
        FAILED,
        "SidecarFailed",
        retryable=True,
        message=("OOMKilled",),
        issues=("'db'",),
        policy="fail",
    ),
    Case(
        "two-sidecars-fail",
        pod(
            MAIN_RUNNING, ended("db", 3), ended("cache", 4), spec_containers=("main", "db", "cache")
        ),
        FAILED,
        "SidecarFailed",
        message=("'db'", "'cache'"),
        issues=("'db'", "'cache'"),
        policy="fail",
    ),
    Case(
        "sidecar-exit0-early-fail-policy",
        pod(MAIN_RUNNING, ended("db", 0)),
        RUN,
        "Running",
        policy="fail",
    ),
    Case(
        "sidecar-stopped-by-us-while-running",
        pod(MAIN_RUNNING, ended("db", 143, stopped_by_us=True)),
        RUN,
        "Running",
        policy="fail",
    ),
    Case(
        "sidecar-sigterm-by-someone-else",
        pod(MAIN_RUNNING, ended("db", None, "Error", signal=15)),
        RUN,
        "Running",
        issues=("sidecar 'db' was killed by SIGTERM (exit code 143",),
    ),
    Case(
        "sidecar-killed-during-disruption",
        pod(MAIN_RUNNING, ended("db", 143), conditions=disrupted("PreemptionByScheduler")),
        RUN,
        "Running",
        policy="fail",
    ),
    # --- primary status missing ------------------------------------------------------------
    Case(
        "primary-missing-pod-running",
        pod(DB_RUNNING, phase="Running"),
        RUN,
        "Running",
        message=("no status yet",),
    ),
    Case(
        "primary-missing-pod-pending",
        pod(DB_RUNNING, phase="Pending"),
        INITIALIZING,
        "Initializing",
    ),
    Case("primary-missing-nothing-known", pod(), INITIALIZING, "Initializing"),
    Case("primary-running", pod(MAIN_RUNNING, DB_RUNNING, phase="Running"), RUN, "Running"),
    Case(
        "pod-phase-unknown",
        pod(MAIN_RUNNING, phase="Unknown"),
        RUN,
        "Running",
        message=("Unknown",),
    ),
]


def check(case: Case, verdict: Verdict) -> None:
    got = (verdict.phase, verdict.reason, verdict.retryable, verdict.system)
    assert got == (case.phase, case.reason, case.retryable, case.system), verdict
    for part in case.message:
        assert part in verdict.message, (part, verdict.message)
    assert len(verdict.sidecar_issues) == len(case.issues), verdict.sidecar_issues
    for part, issue in zip(case.issues, verdict.sidecar_issues, strict=True):
        assert part in issue, (part, issue)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decide(case: Case) -> None:
    check(case, decide(case.status, sidecar_failure=case.policy))


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decide_is_pure(case: Case) -> None:
    before = copy.deepcopy(case.status)
    first = decide(case.status, sidecar_failure=case.policy)
    second = decide(case.status, sidecar_failure=case.policy)
    assert first == second
    assert case.status == before


def test_custom_image_pull_grace() -> None:
    status = pull_wait("ImagePullBackOff", IN_GRACE)
    assert decide(status, image_pull_grace=10).reason == "ImagePullBackOff"
    assert decide(status, image_pull_grace=10).phase is FAILED
    assert decide(status, image_pull_grace=0.0).phase is FAILED
    assert decide(status).phase is INITIALIZING


def test_primary_lookup_prefers_the_regular_container() -> None:
    # An adapter that (wrongly) reports an init container with the primary's name.
    status = pod(ended("main", 0, kind=INIT), MAIN_RUNNING)
    assert decide(status).phase is RUN


# --- argument and spec errors ---------------------------------------------------------


def test_primary_not_in_spec_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        decide(PodStatus(primary="mian", spec_containers=("main", "db")))
    assert info.value.field == "primary_container_name"
    assert "'mian'" in str(info.value)
    assert "'main'" in str(info.value)


def test_primary_not_in_spec_even_with_a_status() -> None:
    status = PodStatus(primary="x", spec_containers=("main",), containers=(ended("x"),))
    with pytest.raises(SpecError):
        decide(status)


@pytest.mark.parametrize("policy", ["Fail", "warn", "", "ignore "])
def test_unknown_sidecar_policy(policy: str) -> None:
    with pytest.raises(SpecError) as info:
        decide(pod(MAIN_RUNNING), sidecar_failure=policy)
    assert info.value.field == "sidecar_failure"


@pytest.mark.parametrize("grace", [-1.0, float("nan")])
def test_bad_image_pull_grace(grace: float) -> None:
    with pytest.raises(SpecError) as info:
        decide(pod(MAIN_RUNNING), image_pull_grace=grace)
    assert info.value.field == "image_pull_grace"


# --- invariants over generated statuses -------------------------------------------------

_WAITING = [
    "ContainerCreating",
    "PodInitializing",
    "ErrImagePull",
    "ImagePullBackOff",
    "CrashLoopBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    None,
]
_CODES = [0, 1, 2, 3, 127, 128, 137, 143, 247, None]


def _random_container(rng: random.Random, name: str, kind: str = REGULAR) -> ContainerStatus:
    state = rng.choice([WAITING, RUNNING, TERMINATED])
    if state == WAITING:
        return ContainerStatus(
            name,
            kind=kind,
            state=state,
            reason=rng.choice(_WAITING),
            restart_count=rng.randint(0, 3),
        )
    if state == RUNNING:
        return ContainerStatus(name, kind=kind, state=state, ready=rng.random() < 0.5)
    code = rng.choice(_CODES)
    return ContainerStatus(
        name,
        kind=kind,
        state=state,
        exit_code=code,
        reason=rng.choice(["Completed", "Error", "OOMKilled", None]),
        signal=rng.choice([None, None, 9, 15]) if code is None else None,
        finished_at=rng.choice([None, BEFORE, END, AFTER]),
        stopped_by_us=rng.random() < 0.3,
    )


def _random_status(rng: random.Random) -> PodStatus:
    containers = [_random_container(rng, "db"), _random_container(rng, "cache")]
    if rng.random() < 0.8:
        containers.insert(0, _random_container(rng, "main"))
    if rng.random() < 0.3:
        containers.insert(0, _random_container(rng, "proxy", NATIVE_SIDECAR))
    if rng.random() < 0.3:
        containers.insert(0, _random_container(rng, "setup", INIT))
    rng.shuffle(containers)
    return PodStatus(
        primary="main",
        spec_containers=("db", "main", "cache"),
        containers=tuple(containers),
        phase=rng.choice([None, "Pending", "Running", "Succeeded", "Failed", "Unknown"]),
        reason=rng.choice([None, None, "Evicted", "NodeShutdown", "DeadlineExceeded"]),
        conditions=rng.choice(
            [
                (),
                disrupted("PreemptionByScheduler"),
                (PodCondition("PodScheduled", "False", "Unschedulable"),),
            ]
        ),
        deleted=rng.random() < 0.1,
        timed_out=rng.random() < 0.1,
        aborted=rng.random() < 0.1,
        pending_since=T0,
        now=rng.choice([None, IN_GRACE, PAST_GRACE]),
    )


GENERATED = [_random_status(random.Random(seed)) for seed in range(400)]


def _without_regular_sidecars(status: PodStatus) -> PodStatus:
    kept = tuple(c for c in status.containers if c.kind != REGULAR or c.name == "main")
    return replace(status, containers=kept)


@pytest.mark.parametrize("policy", ["ignore", "fail"])
def test_generated_statuses_always_get_a_verdict(policy: str) -> None:
    for status in GENERATED:
        verdict = decide(status, sidecar_failure=policy)
        assert verdict.reason
        assert all("'main'" not in issue for issue in verdict.sidecar_issues)
        if verdict.phase is TaskPhase.SUCCEEDED:
            assert verdict.reason == "Completed"


def test_with_ignore_regular_sidecars_never_change_the_outcome() -> None:
    """Flyte's weak spot: a sidecar's crash or bad image must never decide the task."""
    for status in GENERATED:
        full = decide(status)
        alone = decide(_without_regular_sidecars(status))
        assert replace(full, sidecar_issues=()) == replace(alone, sidecar_issues=()), status


def test_with_ignore_a_primary_exit_0_always_succeeds() -> None:
    for status in GENERATED:
        primary = status.container("main")
        if primary is not None and primary.state == TERMINATED and primary.exit_code == 0:
            assert decide(status).phase is SUCCEEDED, status


def test_sidecar_issues_are_the_same_under_both_policies() -> None:
    for status in GENERATED:
        assert (
            decide(status).sidecar_issues == decide(status, sidecar_failure="fail").sidecar_issues
        )
