"""Startup probes the podtask way: exec through ``podman exec``, network probes from the host.

A tcpSocket or httpGet probe must reach the pod's ``127.0.0.1``.  Running a
client inside the container (``podman exec nc``) would depend on what the
user's image ships, so instead a short-lived thread of podtask joins the pod's
network namespace (``setns`` on ``/proc/PID/ns/net`` of a container process:
network namespaces are per thread on Linux) and connects from there.  It
needs no tool in the image and costs no process.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import Any

from podtask._probes import run_probe as probe_once
from podtask.engines.podman.cli import Podman

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def in_netns(pid: int, fn: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    """Run ``fn`` on a fresh thread inside the network namespace of process ``pid``."""
    result: list[tuple[bool, str]] = []

    def target() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            result.append(fn())
        except OSError as exc:
            result.append((False, f"cannot enter the pod's network namespace: {exc}"))

    t = threading.Thread(target=target, name="podtask-probe", daemon=True)
    t.start()
    t.join()
    return result[0] if result else (False, "probe thread failed")


def run_probe(
    podman: Podman, container: str, pid: int, probe: dict[str, Any], timeout: float
) -> tuple[bool, str]:
    """One attempt of a Kubernetes probe (ports numeric) against a running container."""
    return probe_once(
        probe,
        timeout,
        lambda argv, t: podman.exec(container, list(argv), t),
        lambda fn: in_netns(pid, fn),
    )
