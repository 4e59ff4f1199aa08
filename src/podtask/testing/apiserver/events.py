"""core/v1 Events: what the kubelet and the scheduler say about a pod, as a cluster records them.

A Pod's status never says why a container was killed: a failing liveness
probe shows only as exit 137/143 ``Error``.  A real kubelet says it in Events
(``Unhealthy`` "Liveness probe failed: ...", then ``Killing`` "Container x
failed liveness probe, will be restarted"), which clients read with a list
or watch of ``/api/v1/namespaces/NS/events`` filtered by
``involvedObject.name``/``involvedObject.uid``.  So this server records the
same Events for what its kubelet and scheduler do, in the shape each writer
leaves them:

- the kubelet's recorder (core/v1): ``source`` and ``first``/``lastTimestamp``
  set, ``count``, ``eventTime`` null; an identical event again (same object,
  reason, message) bumps ``count`` and ``lastTimestamp`` instead of adding one,
  as its correlator does;
- the scheduler's (written through events.k8s.io/v1, read here as core/v1):
  ``eventTime`` set, ``source`` empty, no timestamps or count, an ``action``.

Events are named ``<pod>.<unix nanoseconds in hex>`` as the recorder names
them, and stay after the pod is gone (a cluster keeps them for an hour), so a
client tells runs apart by ``involvedObject.uid``.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from podtask.testing.apiserver.podstatus import ts
from podtask.testing.apiserver.store import Store

NORMAL = "Normal"
WARNING = "Warning"
KUBELET = "kubelet"
SCHEDULER = "default-scheduler"


def _micro_time(at: float) -> str:
    """A MicroTime, as events.k8s.io writes ``eventTime``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"


def field_path(pod: dict[str, Any], container: str | None) -> str | None:
    """``spec.containers{name}`` or ``spec.initContainers{name}``, as the kubelet's references."""
    if not container:
        return None
    for c in (pod.get("spec") or {}).get("initContainers") or []:
        if c.get("name") == container:
            return f"spec.initContainers{{{container}}}"
    return f"spec.containers{{{container}}}"


class Recorder:
    """Writes Events into the store; thread-safe (the kubelet's pod workers share it)."""

    def __init__(self, store: Store, node_name: str) -> None:
        self.store = store
        self.node_name = node_name
        self._lock = threading.Lock()

    def _reference(self, pod: dict[str, Any], container: str | None) -> dict[str, Any]:
        meta = pod.get("metadata") or {}
        ref: dict[str, Any] = {
            "kind": "Pod",
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion"),
        }
        path = field_path(pod, container)
        if path:
            ref["fieldPath"] = path
        return ref

    def kubelet(
        self,
        pod: dict[str, Any],
        container: str | None,
        etype: str,
        reason: str,
        message: str,
    ) -> None:
        """Record what the kubelet did to ``pod`` (or to one of its containers)."""
        now = time.time()
        ref = self._reference(pod, container)
        ns = str(ref["namespace"])
        with self._lock:
            same = self._same(ns, ref, etype, reason, message)
            if same is not None:

                def bump(o: dict[str, Any]) -> None:
                    o["count"] = int(o.get("count") or 1) + 1
                    o["lastTimestamp"] = ts(now)

                self.store.update("events", (ns, same), bump)
                return
            self._create(
                ns,
                ref,
                now,
                type=etype,
                reason=reason,
                message=message,
                source={"component": KUBELET, "host": self.node_name},
                firstTimestamp=ts(now),
                lastTimestamp=ts(now),
                count=1,
                eventTime=None,
                reportingComponent=KUBELET,
                reportingInstance=self.node_name,
            )

    def scheduler(self, pod: dict[str, Any], etype: str, reason: str, message: str) -> None:
        """Record a scheduling decision (``Scheduled``, ``FailedScheduling``)."""
        now = time.time()
        ref = self._reference(pod, None)
        with self._lock:
            self._create(
                str(ref["namespace"]),
                ref,
                now,
                type=etype,
                reason=reason,
                message=message,
                source={},
                firstTimestamp=None,
                lastTimestamp=None,
                eventTime=_micro_time(now),
                action="Binding" if reason == "Scheduled" else "Scheduling",
                reportingComponent=SCHEDULER,
                reportingInstance=f"{SCHEDULER}-{self.node_name}",
            )

    def _same(
        self, ns: str, ref: dict[str, Any], etype: str, reason: str, message: str
    ) -> str | None:
        """The name of an identical earlier kubelet event (the correlator's key), if any."""

        def identical(o: dict[str, Any]) -> bool:
            other = o.get("involvedObject") or {}
            return (
                other.get("uid") == ref["uid"]
                and other.get("fieldPath") == ref.get("fieldPath")
                and (o.get("source") or {}).get("component") == KUBELET
                and (o.get("type"), o.get("reason"), o.get("message")) == (etype, reason, message)
            )

        found, _rv = self.store.select("events", ns, identical)
        return str(found[-1]["metadata"]["name"]) if found else None

    def _create(self, ns: str, ref: dict[str, Any], now: float, **fields: Any) -> None:
        name = f"{ref['name']}.{time.time_ns():x}"
        obj: dict[str, Any] = {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": ts(now),
            },
            "involvedObject": ref,
            **fields,
        }
        self.store.create("events", (ns, name), obj)


__all__ = ["NORMAL", "WARNING", "Recorder", "field_path"]
