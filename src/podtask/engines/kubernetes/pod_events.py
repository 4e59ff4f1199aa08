"""The pod's Events: the kubelet's words for what a Pod's status leaves out.

A container killed for a failing liveness (or startup) probe shows in the
Pod's status only as exit 137/143 ``Error``; the kubelet says why in Events
(``Unhealthy`` "Liveness probe failed: ...", then ``Killing``).  So when a
container ended without a decisive reason, the engine lists the pod's Events
once, after the fact (one request, no polling, no watch), and lends their
words to the verdict; ``describe`` shows them.  Reading Events needs
``events: list``; without it (403) the run works the same, with less detail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from podtask._errors import PodtaskError
from podtask._lifecycle import TERMINATED, ContainerStatus
from podtask.engines.kubernetes.adapt import timestamp
from podtask.engines.kubernetes.errors import with_retries

#: The Unhealthy messages of probes whose failure kills the container.
KILLING_PROBES = ("Liveness probe failed", "Startup probe failed")


@dataclass(frozen=True)
class PodEvent:
    """One Event about the pod, as ``describe`` shows it."""

    time: float | None
    type: str  # Normal | Warning
    reason: str
    message: str
    container: str | None  # from involvedObject.fieldPath; None: the pod itself
    count: int = 1

    def as_run_event(self, attempt: int, fallback: float) -> dict[str, Any]:
        """The run event podtask records for it (``describe`` lists run events)."""
        event: dict[str, Any] = {
            "event": "k8s-event",
            "attempt": attempt,
            "time": self.time if self.time is not None else fallback,
            "type": self.type,
            "reason": self.reason,
            "message": self.message,
        }
        if self.container:
            event["container"] = self.container
        if self.count > 1:
            event["count"] = self.count
        return event


def _container_of(field_path: str | None) -> str | None:
    """``spec.containers{name}`` (or initContainers) -> ``name``."""
    if not field_path or "{" not in field_path or not field_path.endswith("}"):
        return None
    return field_path[field_path.index("{") + 1 : -1] or None


def parse(items: list[dict[str, Any]]) -> list[PodEvent]:
    """Events (core/v1 JSON) in time order; a scheduler's event has only ``eventTime``."""
    out = []
    for item in items:
        ref = item.get("involvedObject") or {}
        when = timestamp(item.get("lastTimestamp")) or timestamp(item.get("eventTime"))
        out.append(
            PodEvent(
                time=when,
                type=str(item.get("type") or "Normal"),
                reason=str(item.get("reason") or ""),
                message=str(item.get("message") or ""),
                container=_container_of(ref.get("fieldPath")),
                count=int(item.get("count") or 1),
            )
        )
    return sorted(out, key=lambda e: e.time or 0.0)


def list_pod_events(
    core: Any, namespace: str, pod: dict[str, Any], *, server: str | None = None
) -> tuple[list[PodEvent] | None, str | None]:
    """The Events of ``pod`` (this very pod: selected by uid), or None and why not."""
    meta = pod.get("metadata") or {}
    uid, name = meta.get("uid"), meta.get("name")
    selector = f"involvedObject.uid={uid}" if uid else f"involvedObject.name={name}"
    try:
        response = with_retries(
            lambda: core.list_namespaced_event(
                namespace, field_selector=selector, _preload_content=False
            ),
            verb="list",
            resource="events",
            namespace=namespace,
            server=server,
            attempts=2,
        )
    except PodtaskError as exc:
        return None, str(exc)
    try:
        data = json.loads(response.data)
    except ValueError as exc:
        return None, f"unreadable events list: {exc}"
    finally:
        response.release_conn()
    return parse(list(data.get("items") or [])), None


def probe_kill(events: list[PodEvent], container: str) -> str | None:
    """The kubelet's Unhealthy text when a failing probe killed ``container``, else None."""
    found = [
        e
        for e in events
        if e.container == container
        and e.reason == "Unhealthy"
        and e.message.startswith(KILLING_PROBES)
    ]
    return found[-1].message if found else None


def needs_events(c: ContainerStatus | None) -> bool:
    """A container ended with nothing decisive in its status: the kubelet's Events may say why
    (a probe kill is exit 137/143 ``Error``, as a stop signal from anyone would be)."""
    return (
        c is not None
        and c.state == TERMINATED
        and not c.unhealthy
        and c.reason in (None, "Error")
        and c.exit_code in (137, 143)
    )


__all__ = ["PodEvent", "list_pod_events", "needs_events", "parse", "probe_kill"]
