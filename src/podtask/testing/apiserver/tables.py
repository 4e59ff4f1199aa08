"""``meta.k8s.io/v1`` Tables: what ``kubectl get pods`` (and ``get events``) asks to print.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and
prints the rows it gets back; answering with a Table gives its usual NAME,
READY, STATUS, RESTARTS, AGE columns (IP and NODE with ``-o wide``), and for
events LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, as the API server's printers.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from podtask.testing.apiserver.podstatus import TIME_FORMAT, display_status, human_age

COLUMNS = [
    ("Name", "string", "name", 0),
    ("Ready", "string", "", 0),
    ("Status", "string", "", 0),
    ("Restarts", "string", "", 0),
    ("Age", "string", "", 0),
    ("IP", "string", "", 1),
    ("Node", "string", "", 1),
    ("Nominated Node", "string", "", 1),
    ("Readiness Gates", "string", "", 1),
]


EVENT_COLUMNS = [
    ("Last Seen", "string", "", 0),
    ("Type", "string", "", 0),
    ("Reason", "string", "", 0),
    ("Object", "string", "", 0),
    ("Subobject", "string", "", 1),
    ("Source", "string", "", 1),
    ("Message", "string", "", 0),
    ("First Seen", "string", "", 1),
    ("Count", "string", "", 1),
    ("Name", "string", "name", 1),
]
TABLES = ("pods", "events")  # the resources this server prints


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def _restarts(statuses: list[dict[str, Any]]) -> str:
    """kubectl's RESTARTS text: ``0``, or ``3 (5m ago)`` after the last restart."""
    count = sum(int(s.get("restartCount", 0)) for s in statuses)
    finished = [
        str(((s.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or "")
        for s in statuses
    ]
    last = max((f for f in finished if f), default="")
    if not count or not last:
        return str(count)
    ago = human_age(time.time() - calendar.timegm(time.strptime(last, TIME_FORMAT)))
    return f"{count} ({ago} ago)"


def _age(stamp: Any) -> str:
    if not stamp:
        return "<unknown>"
    when = calendar.timegm(time.strptime(str(stamp)[:19] + "Z", TIME_FORMAT))
    return human_age(time.time() - when)


def _event_cells(ev: dict[str, Any]) -> list[Any]:
    ref = ev.get("involvedObject") or {}
    source = ev.get("source") or {}
    by = ", ".join(str(v) for v in (source.get("component"), source.get("host")) if v)
    return [
        _age(ev.get("lastTimestamp") or ev.get("eventTime")),
        ev.get("type", ""),
        ev.get("reason", ""),
        f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}",
        ref.get("fieldPath", ""),
        by or ev.get("reportingComponent", ""),
        ev.get("message", ""),
        _age(ev.get("firstTimestamp") or ev.get("eventTime")),
        int(ev.get("count") or 1),
        (ev.get("metadata") or {}).get("name", ""),
    ]


def _pod_cells(pod: dict[str, Any]) -> list[Any]:
    meta = pod.get("metadata", {})
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    sidecars = {
        c["name"] for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"
    }
    statuses = [
        *(s for s in status.get("initContainerStatuses") or [] if s["name"] in sidecars),
        *(status.get("containerStatuses") or []),
    ]
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = sum(1 for s in statuses if s.get("ready"))
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        display_status(pod),
        _restarts(statuses),
        _age(meta.get("creationTimestamp")),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]


def _row(resource: str, obj: dict[str, Any], include: str) -> dict[str, Any]:
    meta = obj.get("metadata", {})
    cells = _event_cells(obj) if resource == "events" else _pod_cells(obj)
    row: dict[str, Any] = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
        }
    return row


def as_table(
    resource: str,
    items: list[dict[str, Any]],
    rv: str,
    include: str = "Metadata",
    *,
    columns: bool = True,
) -> dict[str, Any]:
    """``items`` of ``resource`` (one of ``TABLES``) as a Table."""
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "rows": [_row(resource, o, include) for o in items],
    }
    if columns:
        table["columnDefinitions"] = [
            {"name": n, "type": t, "format": f, "description": "", "priority": p}
            for n, t, f, p in (EVENT_COLUMNS if resource == "events" else COLUMNS)
        ]
    return table
