"""Pod documents (as the API serves them) -> PodStatus -> decide: the cluster cases."""

from __future__ import annotations

from typing import Any

import pytest

from podtask._errors import EngineUnavailable, InfrastructureError, SpecError
from podtask._lifecycle import TaskPhase, decide
from podtask.engines.kubernetes import adapt
from podtask.engines.kubernetes.errors import Conflict, NotFound, translate, with_retries

T0 = "2024-05-01T10:00:00Z"
T1 = "2024-05-01T10:00:05Z"


def pod(
    statuses: list[dict[str, Any]] | None = None,
    *,
    init: list[dict[str, Any]] | None = None,
    phase: str = "Pending",
    native: bool = False,
    **status: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "primary"}]}
    if native:
        spec["initContainers"] = [{"name": "db", "restartPolicy": "Always"}]
    else:
        spec["containers"].append({"name": "db"})
    out = {"containerStatuses": statuses or [], "phase": phase, **status}
    if init is not None:
        out["initContainerStatuses"] = init
    return {"metadata": {"name": "p"}, "spec": spec, "status": out}


def waiting(name: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"name": name, "state": {"waiting": {"reason": reason, "message": message}}}


def running(name: str) -> dict[str, Any]:
    return {"name": name, "ready": True, "state": {"running": {"startedAt": T0}}}


def done(name: str, code: int, reason: str = "Completed", finished: str = T1) -> dict[str, Any]:
    term = {"exitCode": code, "reason": reason, "startedAt": T0, "finishedAt": finished}
    return {"name": name, "state": {"terminated": term}}


def verdict(doc: dict[str, Any], **kw: Any) -> Any:
    opts = {k: kw.pop(k) for k in ("sidecar_failure",) if k in kw}
    return decide(adapt.pod_status(doc, primary="primary", **kw), **opts)


CASES = [
    (
        "unschedulable",
        pod(
            conditions=[
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                }
            ]
        ),
        {},
        (TaskPhase.QUEUED, "Unschedulable"),
    ),
    (
        "pulling, within grace",
        pod([waiting("primary", "ImagePullBackOff")]),
        {"pending_since": 0, "now": 10},
        (TaskPhase.INITIALIZING, "ImagePullBackOff"),
    ),
    (
        "pull past grace",
        pod([waiting("primary", "ImagePullBackOff")]),
        {"pending_since": 0, "now": 500},
        (TaskPhase.FAILED, "ImagePullBackOff"),
    ),
    (
        "config error",
        pod([waiting("primary", "CreateContainerConfigError", "secret x not found")]),
        {},
        (TaskPhase.FAILED, "CreateContainerConfigError"),
    ),
    (
        "invalid image",
        pod([waiting("primary", "InvalidImageName")]),
        {},
        (TaskPhase.FAILED, "InvalidImageName"),
    ),
    (
        "oom",
        pod([done("primary", 137, "OOMKilled")], phase="Failed"),
        {},
        (TaskPhase.FAILED, "OOMKilled"),
    ),
    (
        "success, sidecar running",
        pod([done("primary", 0), running("db")], phase="Running"),
        {},
        (TaskPhase.SUCCEEDED, "Completed"),
    ),
    (
        "disruption target",
        pod(
            [done("primary", 143, "Error")],
            phase="Failed",
            conditions=[
                {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}
            ],
        ),
        {},
        (TaskPhase.FAILED, "Interrupted"),
    ),
    (
        "node shutdown",
        pod([done("primary", 137, "Error")], phase="Failed", reason="NodeShutdown"),
        {},
        (TaskPhase.FAILED, "Interrupted"),
    ),
    (
        "evicted",
        pod([done("primary", 137, "Error")], phase="Failed", reason="Evicted"),
        {},
        (TaskPhase.FAILED, "Evicted"),
    ),
    (
        "deleted by someone",
        pod([running("primary")], phase="Running"),
        {"gone": True},
        (TaskPhase.FAILED, "PodDeleted"),
    ),
    (
        "deleted by us",
        pod([done("primary", 143, "Error")], phase="Failed"),
        {"gone": True, "deleted_by_us": True, "aborted": True},
        (TaskPhase.ABORTED, "Aborted"),
    ),
    (
        "deadline",
        pod([running("primary")], phase="Failed", reason="DeadlineExceeded"),
        {},
        (TaskPhase.FAILED, "Timeout"),
    ),
    (
        "native sidecar image problem is the sidecar's",
        pod(
            [waiting("primary", "PodInitializing")],
            init=[waiting("db", "InvalidImageName")],
            native=True,
        ),
        {},
        (TaskPhase.FAILED, "SidecarFailed"),
    ),
]


@pytest.mark.parametrize(
    ("doc", "kw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_cluster_cases(
    doc: dict[str, Any], kw: dict[str, Any], expected: tuple[TaskPhase, str]
) -> None:
    v = verdict(doc, **kw)
    assert (v.phase, v.reason) == expected, v


def test_unschedulable_keeps_the_schedulers_message() -> None:
    v = verdict(CASES[0][1])
    assert "Insufficient cpu" in v.message


def test_classic_sidecar_image_problem_is_reported_not_blamed() -> None:
    doc = pod([running("primary"), waiting("db", "ErrImagePull", "not found")], phase="Pending")
    v = verdict(doc, pending_since=0, now=500)
    assert v.phase is TaskPhase.RUNNING
    assert any("sidecar 'db'" in i for i in v.sidecar_issues)


def test_managed_mode_sidecar_stopped_by_the_entrypoint_is_no_issue() -> None:
    doc = pod(
        [done("primary", 0, finished=T1), done("db", 143, "Error", finished=T0)], phase="Failed"
    )
    assert verdict(doc, managed=False, sidecar_failure="fail").reason == "SidecarFailed"
    v = verdict(doc, managed=True, sidecar_failure="fail")
    assert (v.phase, v.sidecar_issues) == (TaskPhase.SUCCEEDED, ())


def test_kinds_and_timestamps() -> None:
    doc = pod([running("primary")], init=[running("db")], native=True, phase="Running")
    status = adapt.pod_status(doc, primary="primary")
    assert [(c.name, c.kind) for c in status.containers] == [
        ("db", "native-sidecar"),
        ("primary", "regular"),
    ]
    assert status.containers[1].started_at == adapt.timestamp(T0) == 1714557600.0


class FakeApiError(Exception):
    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(f"({status})")
        self.status = status
        self.body = body
        self.reason = "x"


def test_translate_errors() -> None:
    forbidden = translate(
        FakeApiError(403, '{"message": "pods is forbidden: User \\"u\\" cannot create resource"}'),
        verb="create",
        resource="pods",
        namespace="ns",
    )
    assert isinstance(forbidden, EngineUnavailable)
    assert "cannot create pods in namespace 'ns'" in str(forbidden) and "pods/log: get" in str(
        forbidden
    )
    invalid = translate(
        FakeApiError(
            422,
            '{"message": "bad", "details": {"causes": [{"field": "spec.containers[0].image", "message": "Required value"}]}}',
        ),
        verb="create",
        resource="pods",
        namespace="ns",
    )
    assert isinstance(invalid, SpecError) and invalid.field == "spec.containers[0].image"
    assert isinstance(
        translate(FakeApiError(404), verb="get", resource="pods", namespace="n"), NotFound
    )
    assert isinstance(
        translate(FakeApiError(409), verb="create", resource="pods", namespace="n"), Conflict
    )
    assert (
        type(translate(FakeApiError(503), verb="get", resource="pods", namespace="n"))
        is InfrastructureError
    )


def test_with_retries_retries_5xx_but_not_403() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise FakeApiError(500)
        return "ok"

    assert (
        with_retries(flaky, verb="create", resource="pods", namespace="n", base_delay=0.001) == "ok"
    )
    assert len(calls) == 3
    calls.clear()

    def denied() -> str:
        calls.append(1)
        raise FakeApiError(403)

    with pytest.raises(EngineUnavailable):
        with_retries(denied, verb="create", resource="pods", namespace="n", base_delay=0.001)
    assert len(calls) == 1
