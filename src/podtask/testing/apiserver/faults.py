"""Fault injection: the failures a client of a real cluster must survive, on demand.

Each fault is something a real cluster does on its own (a flaky apiserver
answering 500, RBAC saying 403, a load balancer cutting a watch, etcd
compaction making a resourceVersion too old, the kubelet evicting a pod, a
registry that does not have an image) and looks exactly as it does there, so
an engine's handling of it can be tested. Thread-safe; used from tests
through ``ApiServer.faults`` and over HTTP through ``POST /podtask-test/faults``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podtask.testing.apiserver.errors import ApiError, forbidden, internal

if TYPE_CHECKING:
    from podtask.testing.apiserver.server import ApiServer

ERROR_REASONS = {
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class _Failure:
    verb: str
    count: int
    code: int
    message: str


@dataclass(frozen=True)
class _Rule:
    verb: str
    resource: str
    namespace: str | None
    user: str


@dataclass(frozen=True)
class _PullFailure:
    image: str | None
    container: str | None
    pod: str | None
    namespace: str | None
    message: str


class Faults:
    """What the server should get wrong next; see each method."""

    def __init__(self, server: ApiServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._forbidden: list[_Rule] = []
        self._pulls: list[_PullFailure] = []

    # -- API errors --------------------------------------------------------------------
    def fail_next(
        self, verb: str = "create", count: int = 1, *, code: int = 500, message: str = ""
    ) -> None:
        """Answer the next ``count`` requests of ``verb`` (create, get, list, watch, delete,
        log, patch) with ``code`` (500 InternalError by default; 429, 503, 504 too)."""
        if code not in ERROR_REASONS:
            raise ValueError(f"code must be one of {sorted(ERROR_REASONS)}")
        text = message or f"injected failure of {verb} (podtask test API server)"
        with self._lock:
            self._failures.append(_Failure(verb, count, code, text))

    def forbid(
        self,
        verb: str,
        resource: str = "pods",
        namespace: str | None = None,
        *,
        user: str = "system:anonymous",
    ) -> None:
        """403 for ``verb`` on ``resource`` (``pods``, ``pods/log``) in ``namespace``
        (None: every namespace) until :meth:`clear`. Verbs are RBAC's: get, list, watch,
        create, delete, patch (logs are ``get`` on ``pods/log``)."""
        with self._lock:
            self._forbidden.append(_Rule(verb, resource, namespace, user))

    def check(
        self, counter_verb: str, verb: str, resource: str, namespace: str | None, name: str | None
    ) -> None:
        """Raise the ApiError this request should get, if any (called per request)."""
        with self._lock:
            for rule in self._forbidden:
                if (
                    rule.verb in (verb, "*")
                    and rule.resource in (resource, "*")
                    and (rule.namespace is None or rule.namespace == namespace)
                ):
                    raise forbidden(rule.user, verb, resource, namespace, name)
            for f in self._failures:
                if f.verb == counter_verb and f.count > 0:
                    f.count -= 1
                    if f.code == 500:
                        raise internal(f.message)
                    headers = {"Retry-After": "1"} if f.code in (429, 503) else {}
                    raise ApiError(f.code, ERROR_REASONS[f.code], f.message, headers=headers)

    def clear(self) -> None:
        """Forget every pending failure, 403 rule and image-pull failure."""
        with self._lock:
            self._failures.clear()
            self._forbidden.clear()
            self._pulls.clear()

    # -- images ------------------------------------------------------------------------
    def fail_image_pull(
        self,
        image: str | None = None,
        *,
        container: str | None = None,
        pod: str | None = None,
        namespace: str | None = None,
    ) -> None:
        """Containers started from now on that match (by image and/or container name,
        optionally only in one pod) never start: waiting ErrImagePull, then ImagePullBackOff."""
        if image is None and container is None:
            raise ValueError("give an image or a container name")
        shown = image or "the image"
        message = (
            f'Failed to pull image "{shown}": rpc error: code = NotFound desc = failed to pull'
            f' and unpack image "{shown}": not found (podtask test API server)'
        )
        with self._lock:
            self._pulls.append(_PullFailure(image, container, pod, namespace, message))

    def image_pull_error(self, namespace: str, pod: str, container: str, image: str) -> str | None:
        with self._lock:
            for p in self._pulls:
                if (
                    (p.image is None or p.image == image)
                    and (p.container is None or p.container == container)
                    and (p.pod is None or p.pod == pod)
                    and (p.namespace is None or p.namespace == namespace)
                ):
                    return p.message.replace("the image", image or "the image")
        return None

    # -- watches, history, pods -------------------------------------------------------------
    def drop_watches(self) -> int:
        """Cut every open watch connection now (no clean end of stream); returns how many."""
        return self._server.drop_watches()

    def compact(self) -> int:
        """Forget the event history: a watch from any earlier resourceVersion gets 410."""
        return self._server.store.compact()

    def evict(
        self,
        namespace: str,
        name: str,
        message: str = "The node was low on resource: memory. ",
    ) -> None:
        """Evict the pod as the kubelet does under node pressure: containers killed at once,
        phase Failed, reason Evicted, a DisruptionTarget condition; the object stays."""
        self._server.evict_pod(namespace, name, message)

    def delete_pod(self, namespace: str, name: str, grace: float | None = None) -> None:
        """Delete the pod as someone else would (``kubectl delete pod``)."""
        self._server.delete_pod(namespace, name, grace)

    # -- over HTTP ---------------------------------------------------------------------------
    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``POST /podtask-test/faults`` with ``{"action": ..., ...}``: the methods above."""
        action = str(doc.get("action", ""))
        args = {k: v for k, v in doc.items() if k != "action"}
        if action == "fail":
            self.fail_next(
                str(args.get("verb", "create")),
                int(args.get("count", 1)),
                code=int(args.get("code", 500)),
                message=str(args.get("message", "")),
            )
        elif action == "forbid":
            self.forbid(
                str(args["verb"]),
                str(args.get("resource", "pods")),
                args.get("namespace"),
                user=str(args.get("user", "system:anonymous")),
            )
        elif action == "imagePull":
            self.fail_image_pull(
                args.get("image"),
                container=args.get("container"),
                pod=args.get("pod"),
                namespace=args.get("namespace"),
            )
        elif action == "dropWatches":
            return {"dropped": self.drop_watches()}
        elif action == "compact":
            return {"compactedTo": str(self.compact())}
        elif action == "evict":
            self.evict(
                str(args["namespace"]),
                str(args["name"]),
                str(args.get("message", "")) or "The node was low on resource: memory. ",
            )
        elif action == "delete":
            grace = args.get("gracePeriodSeconds")
            self.delete_pod(
                str(args["namespace"]), str(args["name"]), None if grace is None else float(grace)
            )
        elif action == "clear":
            self.clear()
        else:
            raise ValueError(
                f"unknown action {action!r}; one of fail, forbid, imagePull, dropWatches,"
                " compact, evict, delete, clear"
            )
        return {"ok": True}
