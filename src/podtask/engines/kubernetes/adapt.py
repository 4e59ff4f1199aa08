"""A Kubernetes Pod (its JSON form, as the watch delivers it) as podtask's ``PodStatus``.

Pure: no client objects, no clock reads, so the cluster cases can be tested
with tables of Pod documents.  ``_lifecycle.decide`` then says what the status
means; this module only translates, apart from two facts only the engine
knows: whether the deletion was ours, and whether podtask's own entrypoint is
the one stopping the sidecars (``managed`` mode).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
    reasons,
)
from podtask.engines.kubernetes import transport

DISRUPTION_TARGET = reasons.DISRUPTION_TARGET
DEADLINE_EXCEEDED = "DeadlineExceeded"


def timestamp(value: Any) -> float | None:
    """RFC 3339 (``2024-05-01T10:00:00Z``, maybe with fractions) to epoch seconds."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _container(raw: Mapping[str, Any], kind: str, *, managed_sidecar: bool) -> ContainerStatus:
    state = raw.get("state") or {}
    common: dict[str, Any] = {
        "name": str(raw.get("name")),
        "kind": kind,
        "ready": bool(raw.get("ready")),
        "restart_count": int(raw.get("restartCount") or 0),
    }
    if "terminated" in state and state["terminated"] is not None:
        t = state["terminated"]
        code = t.get("exitCode")
        sig = t.get("signal") or None
        stopped = managed_sidecar and reasons.stop_signal(code, sig) is not None
        return ContainerStatus(
            **common,
            state=TERMINATED,
            reason=t.get("reason"),
            message=transport.for_people(t.get("message")),
            exit_code=int(code) if code is not None else None,
            signal=int(sig) if sig else None,
            started_at=timestamp(t.get("startedAt")),
            finished_at=timestamp(t.get("finishedAt")),
            stopped_by_us=stopped,
        )
    if "running" in state and state["running"] is not None:
        return ContainerStatus(
            **common, state=RUNNING, started_at=timestamp(state["running"].get("startedAt"))
        )
    w = state.get("waiting") or {}
    return ContainerStatus(
        **common, state=WAITING, reason=w.get("reason"), message=w.get("message")
    )


def container_statuses(
    pod: Mapping[str, Any], *, primary: str, managed: bool = False
) -> tuple[ContainerStatus, ...]:
    """Every container status the pod reports, init containers first, with podtask's kinds.

    ``managed``: podtask's entrypoint in the primary stops the sidecars with
    SIGTERM/SIGKILL once the task is done, so a sidecar ended by a stop signal
    was stopped by podtask and is not a sidecar failure.
    """
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    kinds = {
        str(c.get("name")): (NATIVE_SIDECAR if c.get("restartPolicy") == "Always" else INIT)
        for c in spec.get("initContainers") or []
    }
    out = [
        _container(raw, kinds.get(str(raw.get("name")), INIT), managed_sidecar=False)
        for raw in status.get("initContainerStatuses") or []
    ]
    out += [
        _container(raw, REGULAR, managed_sidecar=managed and raw.get("name") != primary)
        for raw in status.get("containerStatuses") or []
    ]
    return tuple(out)


def pod_status(
    pod: Mapping[str, Any],
    *,
    primary: str,
    managed: bool = False,
    deleted_by_us: bool = False,
    gone: bool = False,
    timed_out: bool = False,
    aborted: bool = False,
    pending_since: float | None = None,
    now: float | None = None,
) -> PodStatus:
    """The ``PodStatus`` of ``pod`` (Kubernetes JSON, camelCase).

    ``gone``: the watch said DELETED (or a re-list no longer has it).  A pod
    removed or being removed (``deletionTimestamp``) by someone else is
    ``deleted`` -- a retryable system failure -- unless it carries a
    ``DisruptionTarget`` condition: then eviction / preemption explains it
    better, and ``decide`` uses that.
    """
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    conditions = tuple(
        PodCondition(
            type=str(c.get("type")),
            status=str(c.get("status")),
            reason=c.get("reason"),
            message=c.get("message"),
        )
        for c in status.get("conditions") or []
    )
    disrupted = any(c.type == DISRUPTION_TARGET and c.status == "True" for c in conditions)
    being_deleted = gone or bool(meta.get("deletionTimestamp"))
    deleted = being_deleted and not deleted_by_us and not disrupted
    return PodStatus(
        primary=primary,
        spec_containers=tuple(str(c.get("name")) for c in spec.get("containers") or []),
        containers=container_statuses(pod, primary=primary, managed=managed),
        phase=status.get("phase"),
        reason=status.get("reason"),
        message=status.get("message"),
        conditions=conditions,
        deleted=deleted,
        # The kubelet's activeDeadlineSeconds counts from a whole-second startTime, so it can
        # end the pod up to a second before podtask's own deadline: the same timeout.
        timed_out=timed_out or status.get("reason") == DEADLINE_EXCEEDED,
        aborted=aborted,
        pending_since=pending_since,
        now=now,
    )


PULL_REASONS = ("ErrImagePull", "ImagePullBackOff")
#: What registries and runtimes say when an image will never come: wrong name or tag,
#: or no right to it.  Timeouts, rate limits and refused connections are not here.
PERMANENT_PULL = (
    "not found",
    "manifest unknown",
    "repository does not exist",
    "pull access denied",
    "denied",
    "unauthorized",
    "403 forbidden",
)


def permanent_pull_error(pod: Mapping[str, Any]) -> bool:
    """A container of the pod waits on an image pull that cannot succeed by waiting."""
    status = pod.get("status") or {}
    for raw in [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]:
        waiting = (raw.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in PULL_REASONS:
            message = str(waiting.get("message") or "").lower()
            if any(word in message for word in PERMANENT_PULL):
                return True
    return False


def is_finished(pod: Mapping[str, Any]) -> bool:
    """The kubelet is done with the pod: phase Succeeded or Failed."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
