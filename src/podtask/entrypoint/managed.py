"""Managed sidecar mode: the primary stops the pod's other processes itself.

On clusters without native sidecars, a pod only completes when every container
has exited.  With ``shareProcessNamespace: true`` the primary can see the
sidecars' processes, so once the task is done and its outputs are written it
sends them SIGTERM, waits up to the grace period, then SIGKILLs what is left.
The pod then finishes on its own, whether or not a podtask client is watching.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from podtask._contract import ENV_KUBELET_STOPS

POLL = 0.02
_MARK = f"{ENV_KUBELET_STOPS}=1".encode()


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _kubelet_stops(pid: int) -> bool:
    """A native sidecar's process (marked in its environment): the kubelet stops it after
    the primary, and would restart it if we stopped it first."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return _MARK in f.read().split(b"\0")
    except OSError:
        return False


def _others() -> list[int]:
    """Every process of the pod but PID 1 (the pod's init), this one and its ancestors,
    and the native sidecars'."""
    keep = {1, os.getpid()}
    pid: int | None = os.getppid()
    while pid and pid not in keep:
        keep.add(pid)
        pid = _ppid(pid)
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    pids = [int(e) for e in entries if e.isdigit() and int(e) not in keep]
    return [p for p in pids if _alive(p) and not _kubelet_stops(p)]


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_sidecars(grace: float) -> list[int]:
    """SIGTERM the pod's other processes, SIGKILL them after ``grace`` seconds; returns them."""
    targets = _others()
    _signal(targets, signal.SIGTERM)
    deadline = time.monotonic() + max(grace, 0.0)
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in targets):
            return targets
        time.sleep(POLL)
    _signal([p for p in targets if _alive(p)], signal.SIGKILL)
    return targets
