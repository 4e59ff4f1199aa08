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
them, and stay after the pod is gone for an hour (the API server's event TTL),
so a client tells runs apart by ``involvedObject.uid``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from typing import Any

from podtask.testing.apiserver.podstatus import ts
from podtask.testing.apiserver.store import Store

NORMAL = "Normal"
WARNING = "Warning"
KUBELET = "kubelet"
SCHEDULER = "default-scheduler"
TTL = 3600.0  # kube-apiserver --event-ttl: events go an hour after their last change

_Same = tuple[str, str, str, str, str]  # pod uid, fieldPath, type, reason, message


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
        self._same: dict[_Same, tuple[str, str]] = {}  # the correlator's key -> (ns, name)
        # (last change, ns, name, key) in time order: what to expire when
        self._expiry: deque[tuple[float, str, str, _Same | None]] = deque()

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
        key = (str(ref["uid"]), str(ref.get("fieldPath") or ""), etype, reason, message)
        with self._lock:
            self._expire(now)
            same = self._same.get(key)
            if same is not None:

                def bump(o: dict[str, Any]) -> None:
                    o["count"] = int(o.get("count") or 1) + 1
                    o["lastTimestamp"] = ts(now)

                if self.store.update("events", same, bump) is not None:
                    self._expiry.append((now, *same, key))
                    return
            self._create(
                ns,
                ref,
                now,
                key,
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
            self._expire(now)
            self._create(
                str(ref["namespace"]),
                ref,
                now,
                None,
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

    def _expire(self, now: float) -> None:
        """Delete the events whose last change is over ``TTL`` old."""
        while self._expiry and self._expiry[0][0] + TTL <= now:
            _at, ns, name, key = self._expiry.popleft()
            event = self.store.get("events", (ns, name))
            last = event and (event.get("lastTimestamp") or event.get("eventTime"))
            if event is None or (last and _epoch(str(last)) + TTL > now):
                continue  # gone already, or changed since: a later entry expires it
            self.store.delete("events", (ns, name))
            if key is not None and self._same.get(key) == (ns, name):
                del self._same[key]

    def _create(
        self, ns: str, ref: dict[str, Any], now: float, key: _Same | None, **fields: Any
    ) -> None:
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
        if key is not None:
            self._same[key] = (ns, name)
        self._expiry.append((now, ns, name, key))


def _epoch(text: str) -> float:
    """RFC 3339 (whole seconds or MicroTime) to epoch seconds; 0 when unreadable."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


__all__ = ["NORMAL", "WARNING", "Recorder", "field_path"]
