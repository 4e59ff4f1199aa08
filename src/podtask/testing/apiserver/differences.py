"""What the test API server still does differently from a real cluster, known and listed.

The differential tier (``tests/differential``) compares this server with a
real one (``PODTASK_TEST_KUBECONFIG``) or with answers recorded from a real
v1.36 cluster. Every difference that remains is an entry here, so that it is
listed by a command (``python -m podtask.testing.apiserver --differences``)
rather than remembered; a differential case that names an entry is expected
to differ, and fails once it no longer does, so this list cannot go stale.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    id: str
    area: str
    real: str
    test: str


KNOWN: tuple[Difference, ...] = (
    Difference(
        "pod-ips",
        "addresses",
        "podIP from the pod network, hostIP the node's address",
        "127.0.0.1 for both: pods run on this machine",
    ),
    Difference(
        "json-errors",
        "bodies that are not JSON",
        "Go's parser wording: 'the object provided is unrecognized (must be of type Pod):"
        " couldn't get version/kind; json parse error: invalid character ...'",
        "the same 400, worded by Python's parser",
    ),
    Difference(
        "discovery-subresources",
        "discovery",
        "pods/attach, binding, ephemeralcontainers, exec, portforward, proxy, resize are listed",
        "not listed: this server does not serve them",
    ),
    Difference(
        "event-writes",
        "core/v1 Events",
        "create, update, patch, delete and deletecollection served too",
        "read only (get, list, watch): only its kubelet and scheduler write them",
    ),
    Difference(
        "watch-progress",
        "watch features of that cluster",
        "allowWatchBookmarks and sendInitialEvents answered 500 (its etcd lacked"
        " RequestWatchProgress); a watch without resourceVersion got 504 after 3 s",
        "bookmarks every bookmark_interval and the initial events, as a current etcd allows",
    ),
)


def by_id(ident: str) -> Difference:
    for d in KNOWN:
        if d.id == ident:
            return d
    raise KeyError(ident)


def render() -> str:
    """The list as text, one difference per paragraph."""
    lines = [f"{len(KNOWN)} known differences from a real cluster (v1.36):", ""]
    for d in KNOWN:
        lines += [f"[{d.id}] {d.area}", f"  real: {d.real}", f"  test: {d.test}", ""]
    return "\n".join(lines)
