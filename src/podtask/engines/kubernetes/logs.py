"""Saving every container's log at the end of an attempt, while the pod still exists.

One read per container, after the verdict and before the delete: the whole
log in one request, instead of a stream per container kept open for the whole
run (which would cost a connection per container for hundreds of runs).
Logs go to the run directory (``podtask logs`` reads them there) and, with
remote storage, to ``<storage>/<run>/logs/`` as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from podtask._errors import InfrastructureError, PodtaskError
from podtask.engines.kubernetes.errors import api_status, with_retries


def container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    return [str(c.get("name")) for c in [*(spec.get("initContainers") or []), *spec["containers"]]]


def read_log(core: Any, namespace: str, pod: str, container: str) -> bytes | None:
    """The container's whole log; None when it never started (the API answers 400)."""
    try:
        response = with_retries(
            lambda: core.read_namespaced_pod_log(
                pod, namespace, container=container, _preload_content=False
            ),
            verb="get",
            resource="pods/log",
            namespace=namespace,
            name=f"{pod}/{container}",
            attempts=3,
        )
    except PodtaskError as exc:
        cause = exc.__cause__
        if cause is not None and api_status(cause) in (400, 404):
            return None
        raise
    try:
        data: bytes = response.data
        return data
    finally:
        response.release_conn()


def save_logs(
    core: Any,
    namespace: str,
    pod: str,
    containers: Iterable[str],
    *,
    log_path: Any,
    attempt: int,
    remote: Any = None,
) -> dict[str, str]:
    """Write each container's log; returns container -> problem for the ones that failed."""
    problems: dict[str, str] = {}
    for name in containers:
        try:
            data = read_log(core, namespace, pod, name)
        except InfrastructureError as exc:
            problems[name] = str(exc)
            continue
        if data is None:
            continue
        path: Path = log_path(name)
        with open(path, "ab") as f:
            if attempt > 1:
                f.write(f"----- podtask: attempt {attempt} -----\n".encode())
            f.write(data)
            if data and not data.endswith(b"\n"):
                f.write(b"\n")
        if remote is not None:
            try:
                remote.put_bytes(f"logs/{name}.log", path.read_bytes())
            except InfrastructureError as exc:
                problems[name] = str(exc)
    return problems
