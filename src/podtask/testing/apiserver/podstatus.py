"""Pure helpers that say what a kubelet would report: phase, conditions, times.

``pod_phase`` follows the kubelet's rules (``getPhase``) as Kubernetes 1.29+
applies them: a failed init container fails a ``restartPolicy: Never`` pod;
any container still waiting keeps the pod Pending (even with another one
running); native sidecars (init containers with ``restartPolicy: Always``)
count as running while they run and are ignored once terminated, so a pod
whose regular containers have all exited completes even though its sidecars
were stopped with a signal.
"""

from __future__ import annotations

import time
from typing import Any

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def ts(t: float | None = None) -> str:
    """RFC 3339 with second precision, as ``metav1.Time`` serializes."""
    return time.strftime(TIME_FORMAT, time.gmtime(time.time() if t is None else t))


def is_native_sidecar(container: dict[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def _state(status: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    if status is None:
        return "unknown", {}
    for key in ("running", "terminated", "waiting"):
        if key in (status.get("state") or {}):
            return key, status["state"][key] or {}
    return "unknown", {}


def pod_phase(
    spec: dict[str, Any],
    init_statuses: dict[str, dict[str, Any]],
    statuses: dict[str, dict[str, Any]],
    *,
    terminal: bool,
) -> str:
    """The pod phase a kubelet reports for these container statuses (k8s JSON)."""
    policy = spec.get("restartPolicy", "Always")
    pending_init = failed_init = 0
    running = waiting = stopped = succeeded = unknown = 0
    for c in spec.get("initContainers") or []:
        st = init_statuses.get(c["name"])
        kind, detail = _state(st)
        last = (st or {}).get("lastState", {}).get("terminated")
        if is_native_sidecar(c):
            if kind == "running":
                if not (st or {}).get("started"):
                    pending_init += 1
                running += 1
            elif kind == "waiting" and last is None:
                pending_init += 1
                waiting += 1
            elif kind == "unknown":
                pending_init += 1
                unknown += 1
            continue
        if kind in ("unknown", "running"):
            pending_init += 1
        elif kind == "terminated":
            if detail.get("exitCode", 0) != 0:
                failed_init += 1
        elif kind == "waiting":
            if last is not None:
                if last.get("exitCode", 0) != 0:
                    failed_init += 1
            else:
                pending_init += 1
    regular_started = False
    for c in spec.get("containers") or []:
        st = statuses.get(c["name"])
        kind, detail = _state(st)
        last = (st or {}).get("lastState", {}).get("terminated")
        if kind == "running":
            running += 1
            regular_started = True
        elif kind == "terminated":
            stopped += 1
            regular_started = True
            if detail.get("exitCode", 0) == 0:
                succeeded += 1
        elif kind == "waiting":
            if last is not None:
                stopped += 1
                regular_started = True
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init and policy == "Never":
        return "Failed"
    if (pending_init and not regular_started) or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def qos_class(spec: dict[str, Any]) -> str:
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in limits or str(requests.get(r, limits[r])) != str(limits[r]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def human_age(seconds: float) -> str:
    """kubectl's short durations: 5s, 3m2s, 4h, 2d3h."""
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 48:
        return f"{h}h"
    return f"{h // 24}d{h % 24}h" if h % 24 and h < 24 * 8 else f"{h // 24}d"


def display_status(pod: dict[str, Any]) -> str:
    """What ``kubectl get pods`` shows in STATUS (a condensed form of kubectl's printPod)."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    spec = pod.get("spec") or {}
    inits = spec.get("initContainers") or []
    init_statuses = {s["name"]: s for s in status.get("initContainerStatuses") or []}
    initializing = False
    done = 0
    for i, c in enumerate(inits):
        kind, detail = _state(init_statuses.get(c["name"]))
        if kind == "terminated" and detail.get("exitCode") == 0:
            done += 1
            continue
        if is_native_sidecar(c) and kind == "running" and init_statuses[c["name"]].get("started"):
            done += 1
            continue
        if kind == "terminated":
            reason = "Init:" + (detail.get("reason") or f"ExitCode:{detail.get('exitCode')}")
        elif kind == "waiting" and detail.get("reason") not in (None, "PodInitializing"):
            reason = "Init:" + str(detail["reason"])
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break
    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    if not initializing or initialized:  # kubectl: a finished sidecar is no Init:Error
        reason = status.get("reason") or status.get("phase") or "Unknown"
        has_running = False
        for s in reversed(status.get("containerStatuses") or []):
            kind, detail = _state(s)
            if kind in ("waiting", "terminated") and detail.get("reason"):
                reason = str(detail["reason"])
            elif kind == "terminated":
                sig = detail.get("signal")
                reason = f"Signal:{sig}" if sig else f"ExitCode:{detail.get('exitCode')}"
            elif kind == "running" and s.get("ready"):
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


RUNC = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed:"
    " runc create failed: unable to start container process: "
)


def runtime_message(message: str) -> str:
    """A start error as containerd and runc word it (the local engine words it as Python)."""
    for python, runc in (
        ("FileNotFoundError: No such file or directory: ", "stat {0}: no such file or directory"),
        ("PermissionError: Permission denied: ", "permission denied"),
    ):
        if message.startswith(python):
            path = message[len(python) :]
            return f'{RUNC}exec: "{path}": {runc.format(path)}: unknown'
    if message.startswith('exec: "'):
        return f"{RUNC}{message}: unknown"
    return message
