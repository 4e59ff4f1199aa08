"""One watch per process and namespace, feeding every run's queue.

A run never polls its pod: it subscribes by pod name and reads events from its
own queue.  The watcher thread keeps a single ``watch`` request open on pods
labelled ``podtask.io/run-id`` and dispatches each event to the subscriber of
that pod name.  It follows the Kubernetes list-then-watch contract:

- LIST (label selector) gives the current pods and a ``resourceVersion``;
  every subscribed pod found is delivered, so nothing that happened while no
  watch was open is missed;
- WATCH from that version, with bookmarks, keeping the newest version seen;
- ``410 Gone`` (history compacted) means the version is too old: re-LIST;
- a dropped connection is re-opened from the last version, with jittered
  backoff, so a flaky network costs one request, not a lost run;
- after a re-LIST, a subscribed pod that is missing was deleted while we were
  not looking: its subscriber gets a ``GONE`` event (only if its pod was
  created before that LIST began, so a create in flight is not mistaken for a
  deletion).

The thread starts with the first subscription and stops when the last one
leaves: there is nothing to reset between tests and no thread outlives its runs.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from podtask._contract import LABEL_RUN
from podtask.engines.kubernetes.errors import api_status, is_connection_error

SELECTOR = LABEL_RUN
WATCH_SECONDS = 290  # the server ends a watch after this; we re-open it from the last version
BACKOFF_MIN = 0.1
BACKOFF_MAX = 5.0

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
GONE = "GONE"  # missing from a re-LIST: deleted while no watch was open
ERROR = "ERROR"  # the watch fails in a way retrying will not fix (403, ...): see ``error``


@dataclass(frozen=True)
class PodEvent:
    type: str  # ADDED, MODIFIED, DELETED, GONE
    pod: dict[str, Any] | None  # the pod's JSON; None for GONE and ERROR
    error: BaseException | None = None


@dataclass
class Subscription:
    name: str
    events: queue.SimpleQueue[PodEvent] = field(default_factory=queue.SimpleQueue)
    created_generation: int | None = None  # the LIST generation current when our create returned
    seen: bool = False

    def get(self, timeout: float) -> PodEvent | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): re-list."""


class PodWatcher:
    """The single watch on podtask's pods in one namespace of one cluster."""

    def __init__(self, core: Any, namespace: str, *, selector: str = SELECTOR) -> None:
        self.core = core
        self.namespace = namespace
        self.selector = selector
        self._subs: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._response: Any = None
        self._generation = 0  # incremented when a LIST starts
        self.resource_version: str | None = None
        self.stats: dict[str, int] = {"lists": 0, "watches": 0, "gone": 0, "reconnects": 0}
        self.last_error: str | None = None
        # time.monotonic() of the first failure since the server last answered; None while
        # it answers. A follower asks the server itself once this is old (engine._follow_pod).
        self.failing_since: float | None = None

    # -- subscribers ---------------------------------------------------------
    def subscribe(self, name: str) -> Subscription:
        with self._lock:
            sub = Subscription(name)
            self._subs[name] = sub
            if self._thread is None or not self._thread.is_alive():
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._stop,),
                    name=f"podtask-watch-{self.namespace}",
                    daemon=True,
                )
                self._thread.start()
            return sub

    def mark_created(self, sub: Subscription) -> None:
        """Our create returned: a LIST that starts from now on must show the pod."""
        with self._lock:
            sub.created_generation = self._generation

    def unsubscribe(self, sub: Subscription) -> None:
        thread: threading.Thread | None = None
        with self._lock:
            if self._subs.get(sub.name) is sub:
                del self._subs[sub.name]
            if not self._subs and self._thread is not None:
                thread, self._thread = self._thread, None
                self._stop.set()
                self._interrupt()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _interrupt(self) -> None:
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()
            with contextlib.suppress(Exception):
                response.close()

    def _dispatch(self, kind: str, pod: dict[str, Any]) -> None:
        name = (pod.get("metadata") or {}).get("name")
        with self._lock:
            sub = self._subs.get(str(name))
            if sub is not None:
                sub.seen = True
                sub.events.put(PodEvent(kind, pod))

    def _broadcast(self, event: PodEvent) -> None:
        with self._lock:
            for sub in self._subs.values():
                sub.events.put(event)

    # -- the thread -------------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        backoff = BACKOFF_MIN
        rv: str | None = None
        while not stop.is_set():
            try:
                if rv is None:
                    rv = self._list()
                rv = self._watch(rv, stop)
                backoff = BACKOFF_MIN
            except _Gone:
                self.stats["gone"] += 1
                rv = None
            except Exception as exc:
                if stop.is_set():
                    break
                status = api_status(exc)
                if status == 410:
                    self.stats["gone"] += 1
                    rv = None
                    continue
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                if (
                    status is None
                    and not is_connection_error(exc)
                    and not isinstance(exc, (ValueError, OSError))
                ):
                    self.last_error = f"unexpected: {self.last_error}"
                self.stats["reconnects"] += 1
                stop.wait(backoff * (0.5 + random.random()))
                backoff = min(BACKOFF_MAX, backoff * 2)
        self._response = None

    def _list(self) -> str:
        with self._lock:
            self._generation += 1
            generation = self._generation
        self.stats["lists"] += 1
        response = self.core.list_namespaced_pod(
            self.namespace, label_selector=self.selector, _preload_content=False
        )
        try:
            data = json.loads(response.data)
        finally:
            response.release_conn()
        self.failing_since = None
        present: set[str] = set()
        for pod in data.get("items") or []:
            name = str((pod.get("metadata") or {}).get("name"))
            present.add(name)
            self._dispatch(MODIFIED, pod)
        with self._lock:
            for sub in self._subs.values():
                missing = sub.name not in present
                created = sub.created_generation is not None and (
                    sub.created_generation < generation
                )
                if missing and (sub.seen or created):
                    sub.events.put(PodEvent(GONE, None))
        rv = str((data.get("metadata") or {}).get("resourceVersion") or "")
        self.resource_version = rv
        return rv

    def _watch(self, rv: str, stop: threading.Event) -> str:
        self.stats["watches"] += 1
        response = self.core.list_namespaced_pod(
            self.namespace,
            label_selector=self.selector,
            watch=True,
            resource_version=rv or None,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
            _request_timeout=(10, WATCH_SECONDS + 30),
        )
        self._response = response
        self.failing_since = None
        if stop.is_set():
            self._interrupt()
            return rv
        try:
            for event in _lines(response):
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise _Gone()
                    raise ConnectionError(f"watch error: {obj.get('message') or obj}")
                new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                if new_rv:
                    rv = str(new_rv)
                    self.resource_version = rv
                if kind in (ADDED, MODIFIED, DELETED):
                    self._dispatch(str(kind), obj)
        finally:
            self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()
        return rv


def _lines(response: Any) -> Iterator[dict[str, Any]]:
    """The watch stream's JSON objects, one per line, however the chunks fall."""
    buffer = b""
    for chunk in response.stream(65536, decode_content=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if buffer.strip():
        yield json.loads(buffer)


_REGISTRY_LOCK = threading.Lock()


def watcher_for(cluster: Any, namespace: str) -> PodWatcher:
    """The process's watcher for ``namespace`` of ``cluster`` (created on first use)."""
    with _REGISTRY_LOCK:
        watchers: dict[str, PodWatcher] = cluster.watchers
        found = watchers.get(namespace)
        if found is None:
            found = watchers[namespace] = PodWatcher(cluster.core, namespace)
        return found


__all__ = [
    "ADDED",
    "DELETED",
    "ERROR",
    "GONE",
    "MODIFIED",
    "PodEvent",
    "PodWatcher",
    "Subscription",
    "watcher_for",
]
