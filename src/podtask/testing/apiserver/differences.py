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
        "sigterm-every-process",
        "stop signals",
        "only each container's PID 1 gets SIGTERM; a shell PID 1 without a trap waits out the"
        " grace period and dies with 137",
        "every process of the pod gets SIGTERM at once (the local engine's stop): 143 at once",
    ),
    Difference(
        "crash-backoff",
        "restart back-off",
        "restarts at ~0, 10, 26 s (10 s doubling, at most 5 min)",
        "0.5 s doubling, at most 10 s (kept short for the suite)",
    ),
    Difference(
        "missing-command",
        "a command that does not exist",
        "Pending ~2 s, then StartError/128 with runc's message",
        "Failed at once, with the local engine's message",
    ),
    Difference(
        "log-timestamps",
        "log options",
        "timestamps=true prefixes each line with RFC3339Nano; sinceSeconds filters by time",
        "both accepted and ignored: the local engine keeps no time per line",
    ),
    Difference(
        "in-pod-api",
        "in-pod API access",
        "KUBERNETES_SERVICE_HOST/PORT reach the API from the pod",
        "set (with the token volume), but the pod's own network namespace cannot reach the"
        " server on the host's 127.0.0.1",
    ),
    Difference(
        "pod-ips",
        "addresses",
        "podIP from the pod network, hostIP the node's address",
        "127.0.0.1 for both: pods run on this machine",
    ),
    Difference(
        "delete-finalizers",
        "delete propagation",
        "propagationPolicy Foreground/Orphan add the foregroundDeletion/orphan finalizer",
        "no finalizers: pods own nothing the garbage collector would wait for",
    ),
    Difference(
        "decode-errors",
        "undecodable bodies",
        "Go's decoder wording: 'json: cannot unmarshal string into Go struct field ...' (400),"
        " 'converting (v1.Service) to (core.Pod): unknown conversion', json parse errors",
        "a command given as a string is a 422 from the schema check; kind and JSON errors are"
        " worded by Python",
    ),
    Difference(
        "discovery-subresources",
        "discovery",
        "pods/attach, binding, ephemeralcontainers, exec, portforward, proxy, resize are listed",
        "not listed: this server does not serve them",
    ),
    Difference(
        "observed-generation",
        "status details",
        "status.observedGeneration and conditions[].observedGeneration, status.resources,"
        " containerStatuses[].resources/volumeMounts/user",
        "absent",
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
