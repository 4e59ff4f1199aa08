"""API errors in, podtask's error tree out; transient ones retried with backoff.

The caller should learn *what to do*: a 403 is a permission to ask for (named
verb, resource and namespace, so the RBAC rule can be written from the
message), a 422 is a field to fix, a 5xx / 429 / conflict / dropped
connection is the cluster's hiccup and is retried here before it becomes an
``InfrastructureError``.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from podtask._errors import (
    EngineUnavailable,
    EngineUnreachable,
    InfrastructureError,
    PodtaskError,
    SpecError,
)

T = TypeVar("T")

RBAC_HINT = (
    "podtask needs these RBAC rules in the namespace: pods: create, get, list, watch, delete; "
    "pods/log: get"
)
#: HTTP statuses worth another try: conflicts, throttling, server errors.
RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


class NotFound(InfrastructureError):
    """The object is not there (a pod deleted by someone else, a namespace missing)."""


class Conflict(InfrastructureError):
    """409: the object exists already, or changed under us."""


def _status_body(exc: Any) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {"message": str(body)[:500]}
    return data if isinstance(data, dict) else {}


def api_status(exc: BaseException) -> int | None:
    """The HTTP status of a client ``ApiException``; None for anything else."""
    status = getattr(exc, "status", None)
    return int(status) if isinstance(status, int) and status > 0 else None


def is_connection_error(exc: BaseException) -> bool:
    """True for network trouble (refused, reset, timeout) rather than an HTTP answer."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    module = type(exc).__module__
    return module.startswith(("urllib3", "http.client", "ssl", "socket"))


def translate(
    exc: BaseException,
    *,
    verb: str,
    resource: str,
    namespace: str | None,
    name: str | None = None,
    server: str | None = None,
) -> PodtaskError:
    """One ``ApiException`` (or connection error) as the podtask error a caller can act on."""
    where = f" in namespace {namespace!r}" if namespace else ""
    what = f"{resource} {name!r}" if name else resource
    status = api_status(exc)
    if status is None:
        at = f" at {server}" if server else ""
        # Not a failure of the run: its pod goes on without us (EngineUnreachable's doc).
        return EngineUnreachable(f"cannot reach the Kubernetes API server{at}: {exc}")
    body = _status_body(exc)
    message = str(body.get("message") or getattr(exc, "reason", "") or "").strip()
    if status == 401:
        return EngineUnavailable(
            f"the Kubernetes API server rejected the credentials ({message}); "
            "check the kubeconfig context (--context) or log in again"
        )
    if status == 403:
        return EngineUnavailable(f"forbidden: cannot {verb} {what}{where}: {message} ({RBAC_HINT})")
    if status == 404:
        return NotFound(f"{what} not found{where}: {message}")
    if status == 422:
        causes = (body.get("details") or {}).get("causes") or []
        field = next((c.get("field") for c in causes if c.get("field")), None)
        # The same cause is often listed twice (per field and per rule): say it once.
        messages = [str(c["message"]) for c in causes if c.get("message")]
        detail = "; ".join(dict.fromkeys(messages))
        return SpecError(
            f"the API server refused to {verb} {what}{where}: {detail or message}",
            field=field,
        )
    if status == 409:
        return Conflict(f"cannot {verb} {what}{where}: {message}")
    if status == 400:
        return SpecError(f"the API server refused to {verb} {what}{where}: {message}")
    return InfrastructureError(f"cannot {verb} {what}{where}: HTTP {status}: {message}")


_CONTAINER_PATH = re.compile(r"^spec\.(initContainers|containers)\[(\d+)\](.*)$")


def user_field(path: str | None, sent: dict[str, Any], compiled: dict[str, Any]) -> str | None:
    """The API server's field path in the pod podtask sent, as a path in the user's spec.

    The sent pod is the user's reshaped (native mode moves sidecars into
    ``initContainers``), so a container is found again by its name, and the path
    is told as ``pod_spec...`` as compile's own errors are.
    """
    if not path or not path.startswith("spec."):
        return path
    m = _CONTAINER_PATH.match(path)
    if m is None:
        return "pod_spec." + path.removeprefix("spec.")
    kind, index, rest = m.group(1), int(m.group(2)), m.group(3)
    sent_list = (sent.get("spec") or {}).get(kind) or []
    if index >= len(sent_list):
        return "pod_spec." + path.removeprefix("spec.")
    name = sent_list[index].get("name")
    for user_kind in ("containers", "initContainers"):
        for i, c in enumerate((compiled.get("spec") or {}).get(user_kind) or []):
            if c.get("name") == name:
                return f"pod_spec.{user_kind}[{i}]{rest}"
    return "pod_spec." + path.removeprefix("spec.")


def with_retries(
    call: Callable[[], T],
    *,
    verb: str,
    resource: str,
    namespace: str | None,
    name: str | None = None,
    server: str | None = None,
    attempts: int = 6,
    base_delay: float = 0.2,
    max_delay: float = 5.0,
    retry_conflict: bool = True,
) -> T:
    """Call ``call``, retrying 5xx, 429, 409 and dropped connections with jittered backoff.

    Everything else (and the last failure) is translated at once: retrying a
    403 or a 422 cannot help and only delays the message the user needs.
    """
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except PodtaskError:
            raise
        except Exception as exc:
            status = api_status(exc)
            transient = (status in RETRY_STATUSES and (retry_conflict or status != 409)) or (
                status is None and is_connection_error(exc)
            )
            if not transient or attempt == attempts:
                raise translate(
                    exc,
                    verb=verb,
                    resource=resource,
                    namespace=namespace,
                    name=name,
                    server=server,
                ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(max_delay, delay * 2)
    raise AssertionError("unreachable")  # pragma: no cover
