"""Objects, resourceVersions and a bounded event history: the etcd + watch cache part.

Every change gets the next resourceVersion (one counter for the whole
server, as etcd's revision) and becomes an event in a bounded history, so a
watch can resume from any resourceVersion still in it and gets 410 Gone
(``too old resource version``) for one that is not, exactly the two paths a
client has to handle on a real cluster.

Stored objects are never mutated: an update stores a new dict. So events can
hold references to objects and be encoded later, outside the lock.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from podtask.testing.apiserver.errors import gone
from podtask.testing.apiserver.selectors import Matcher

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


@dataclass(frozen=True)
class Change:
    """One entry of the history: ``obj`` after the change, ``old`` before (None if created)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: str  # "pods" | "namespaces" | "configmaps" | "events"
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass(eq=False)
class Watcher:
    """One open watch: a queue the store pushes changes to, filtered by the reader."""

    resource: str
    namespace: str | None
    match: Matcher
    changes: queue.SimpleQueue[Change | None] = field(default_factory=queue.SimpleQueue)
    closed: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        """Wake the reader and tell it to stop (used to drop watches on purpose)."""
        self.closed.set()
        self.changes.put(None)

    def translate(self, change: Change) -> tuple[str, dict[str, Any]] | None:
        """The event this watcher sees for ``change``, or None.

        As the real server does: an object that starts matching the selector
        is ADDED, one that stops matching is DELETED.
        """
        if change.resource != self.resource:
            return None
        ns = change.obj.get("metadata", {}).get("namespace")
        if self.namespace is not None and ns != self.namespace:
            return None
        now = self.match(change.obj)
        before = change.old is not None and self.match(change.old)
        if change.type == "MODIFIED":
            if now and before:
                return "MODIFIED", change.obj
            if now:
                return "ADDED", change.obj
            if before:
                return "DELETED", change.obj
            return None
        return (change.type, change.obj) if now or before else None


class Store:
    def __init__(self, history_size: int = 10000) -> None:
        self.lock = threading.RLock()
        self.rv = 1
        self.objects: dict[str, dict[Key, dict[str, Any]]] = {
            "pods": {},
            "namespaces": {},
            "configmaps": {},
            "events": {},
        }
        self.history: deque[Change] = deque()
        self.history_size = history_size
        self.compacted = 1  # watches from a resourceVersion below this get 410
        self.watchers: set[Watcher] = set()

    # -- writes -------------------------------------------------------------------
    def _record(self, change: Change) -> None:
        self.history.append(change)
        while len(self.history) > self.history_size:
            self.compacted = self.history.popleft().rv
        for w in list(self.watchers):
            w.changes.put(change)

    def _next(self, obj: dict[str, Any]) -> int:
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        return self.rv

    def create(self, resource: str, key: Key, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``obj`` (taken over, not copied); None if the key exists."""
        with self.lock:
            table = self.objects[resource]
            if key in table:
                return None
            rv = self._next(obj)
            table[key] = obj
            self._record(Change(rv, "ADDED", resource, obj, None))
            return obj

    def update(
        self,
        resource: str,
        key: Key,
        mutate: Callable[[dict[str, Any]], bool | None],
        *,
        uid: str | None = None,
    ) -> dict[str, Any] | None:
        """Apply ``mutate`` to a copy; store it if it returns a truthy value or None.

        Returns the stored object (the old one when ``mutate`` returned False),
        or None when the object is gone or its uid is not ``uid``.
        """
        with self.lock:
            old = self.objects[resource].get(key)
            if old is None or (uid is not None and old["metadata"].get("uid") != uid):
                return None
            new = copy.deepcopy(old)
            if mutate(new) is False or new == old:
                return old
            rv = self._next(new)
            self.objects[resource][key] = new
            self._record(Change(rv, "MODIFIED", resource, new, old))
            return new

    def delete(self, resource: str, key: Key, *, uid: str | None = None) -> dict[str, Any] | None:
        with self.lock:
            old = self.objects[resource].get(key)
            if old is None or (uid is not None and old["metadata"].get("uid") != uid):
                return None
            del self.objects[resource][key]
            new = copy.deepcopy(old)
            rv = self._next(new)
            self._record(Change(rv, "DELETED", resource, new, old))
            return new

    # -- reads --------------------------------------------------------------------
    def get(self, resource: str, key: Key) -> dict[str, Any] | None:
        with self.lock:
            return self.objects[resource].get(key)

    def select(
        self, resource: str, namespace: str | None, match: Matcher
    ) -> tuple[list[dict[str, Any]], int]:
        with self.lock:
            items = [
                o
                for (ns, _n), o in sorted(self.objects[resource].items())
                if (namespace is None or ns == namespace) and match(o)
            ]
            return items, self.rv

    def select_at(
        self, resource: str, namespace: str | None, match: Matcher, rv: int
    ) -> list[dict[str, Any]]:
        """The objects as they were at ``rv`` (an ``Exact`` list, a continued page).

        Undoes the history after ``rv``; the caller checks ``rv >= compacted``
        (410 otherwise) and ``rv <= self.rv`` (504 otherwise)."""
        with self.lock:
            table = dict(self.objects[resource])
            for change in reversed(self.history):
                if change.rv <= rv:
                    break
                if change.resource != resource:
                    continue
                meta = change.obj.get("metadata", {})
                key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
                if change.old is None:
                    table.pop(key, None)
                else:
                    table[key] = change.old
            return [
                o
                for (ns, _n), o in sorted(table.items())
                if (namespace is None or ns == namespace) and match(o)
            ]

    # -- watches ------------------------------------------------------------------
    def watch(
        self, resource: str, namespace: str | None, match: Matcher, since: int | None
    ) -> tuple[Watcher, list[tuple[str, dict[str, Any]]]]:
        """Open a watch; returns it with the events to send first.

        ``since`` None: synthetic ADDED events for every current object (what
        an unset or "0" resourceVersion means). Otherwise every change after
        ``since`` still in the history, or ``ApiError`` 410 when it is not.
        """
        w = Watcher(resource, namespace, match)
        with self.lock:
            first: list[tuple[str, dict[str, Any]]] = []
            if since is None:
                for (ns, _n), o in sorted(self.objects[resource].items()):
                    if (namespace is None or ns == namespace) and match(o):
                        first.append(("ADDED", o))
            else:
                if since < self.compacted:
                    raise gone(since, self.compacted)
                for change in self.history:
                    if change.rv > since and (ev := w.translate(change)) is not None:
                        first.append(ev)
            self.watchers.add(w)
        return w, first

    def unwatch(self, w: Watcher) -> None:
        with self.lock:
            self.watchers.discard(w)

    def drop_watches(self) -> int:
        with self.lock:
            ws = list(self.watchers)
            self.watchers.clear()
        for w in ws:
            w.close()
        return len(ws)

    def compact(self) -> int:
        """Forget the whole history: only watches from now on can resume."""
        with self.lock:
            self.history.clear()
            self.rv += 1  # like etcd: compaction itself is a revision
            self.compacted = self.rv
            return self.compacted

    def all_keys(self, resource: str) -> Iterator[Key]:
        with self.lock:
            return iter(list(self.objects[resource]))
