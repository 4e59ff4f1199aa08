"""``meta.k8s.io/v1`` Tables: what ``kubectl get pods`` asks the server to print.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and
prints the rows it gets back; answering with a Table gives its usual NAME,
READY, STATUS, RESTARTS, AGE columns (IP and NODE with ``-o wide``).
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


def _row(pod: dict[str, Any], include: str) -> dict[str, Any]:
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
    restarts = _restarts(statuses)
    created = meta.get("creationTimestamp")
    age = "<unknown>"
    if created:
        age = human_age(time.time() - calendar.timegm(time.strptime(created, TIME_FORMAT)))
    row: dict[str, Any] = {
        "cells": [
            meta.get("name", ""),
            f"{ready}/{total}",
            display_status(pod),
            restarts,
            age,
            status.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>",
            "<none>",
            "<none>",
        ]
    }
    if include == "Object":
        row["object"] = pod
    elif include != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
        }
    return row


def pod_table(
    pods: list[dict[str, Any]], rv: str, include: str = "Metadata", *, columns: bool = True
) -> dict[str, Any]:
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "rows": [_row(p, include) for p in pods],
    }
    if columns:
        table["columnDefinitions"] = [
            {"name": n, "type": t, "format": f, "description": "", "priority": p}
            for n, t, f, p in COLUMNS
        ]
    return table
