"""The engine-neutral shape of a pod's status, and the task phases it maps to.

Every engine adapts what it can see (a process's wait status, ``podman
inspect``, a Kubernetes Pod object) into ``PodStatus``; ``decide`` in
``podtask._lifecycle.phase`` is the only place that says what it means.
Timestamps are epoch seconds (float) so records and timelines need no parsing.
"""

from __future__ import annotations

from collections.abc import Mapping as _Mapping  # private: not part of the public API
from dataclasses import dataclass, field
from enum import Enum

# Container kinds, in start order.
INIT = "init"  # init container: runs to completion before anything else
NATIVE_SIDECAR = "native-sidecar"  # init container with restartPolicy: Always
REGULAR = "regular"  # spec.containers (the primary and classic sidecars)

WAITING = "waiting"
RUNNING = "running"
TERMINATED = "terminated"


@dataclass(frozen=True)
class ContainerStatus:
    """One container as an engine last saw it (Kubernetes ``containerStatuses`` shape)."""

    name: str
    kind: str = REGULAR
    state: str = WAITING
    # waiting: ContainerCreating, ErrImagePull, ...; terminated: Completed, Error, OOMKilled, ...
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    signal: int | None = None  # the signal that ended it, when known
    ready: bool = False
    restart_count: int = 0
    started_at: float | None = None
    ready_at: float | None = None
    finished_at: float | None = None
    stopped_by_us: bool = False  # the engine sent it the stop signal (teardown, timeout, abort)
    # Killed for a failed probe: the kubelet's Unhealthy event text ("Liveness probe failed:
    # ..."). Only engines that run the probes know it; a Pod's status never says it.
    unhealthy: str | None = None


@dataclass(frozen=True)
class PodCondition:
    type: str  # PodScheduled, Ready, DisruptionTarget, ...
    status: str  # "True" | "False" | "Unknown"
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class PodStatus:
    """Everything ``decide`` needs to know about a pod at one moment."""

    primary: str
    spec_containers: tuple[str, ...]  # names of spec.containers (regular), in order
    containers: tuple[ContainerStatus, ...] = ()  # every status seen, all kinds
    phase: str | None = None  # Kubernetes pod phase: Pending, Running, Succeeded, Failed, Unknown
    reason: str | None = None  # pod-level reason: Evicted, Shutdown, NodeShutdown, DeadlineExceeded
    message: str | None = None
    conditions: tuple[PodCondition, ...] = ()
    deleted: bool = False  # the pod disappeared and we did not delete it
    timed_out: bool = False  # the task's timeout expired
    aborted: bool = False  # the user interrupted podtask (Ctrl-C, SIGTERM)
    pending_since: float | None = None  # when the pod (or the waiting reason) was first seen
    now: float | None = None

    def container(self, name: str) -> ContainerStatus | None:
        for c in self.containers:
            if c.name == name:
                return c
        return None


class TaskPhase(str, Enum):
    QUEUED = "QUEUED"
    INITIALIZING = "INITIALIZING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    LOST = "LOST"  # recorded only: podtask died and nobody saw the end

    def __str__(self) -> str:
        return self.value  # f"{phase}" prints SUCCEEDED, as the plain strings did

    @property
    def terminal(self) -> bool:
        return self in (TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.ABORTED, TaskPhase.LOST)


@dataclass(frozen=True)
class Verdict:
    """What a pod status means for the task."""

    phase: TaskPhase
    reason: str  # short CamelCase word: Completed, Error, OOMKilled, Timeout, Unschedulable, ...
    message: str = ""
    retryable: bool = False  # a retry may succeed (timeouts, OOM, infrastructure)
    system: bool = False  # not the user's fault (preemption, eviction, node shutdown, deleted pod)
    # human sentences, e.g. "sidecar 'db' exited 3 before the primary ended"
    sidecar_issues: tuple[str, ...] = field(default=())

    @property
    def terminal(self) -> bool:
        return self.phase.terminal


def running_names(statuses: _Mapping[str, ContainerStatus], kinds: tuple[str, ...]) -> list[str]:
    """Containers of the given kinds that are running, in the pod's container order."""
    return [n for n, s in statuses.items() if s.kind in kinds and s.state == RUNNING]


def observed_pod(
    primary: str,
    statuses: _Mapping[str, ContainerStatus],
    *,
    now: float,
    timed_out: bool = False,
    aborted: bool = False,
    pending_since: float | None = None,
) -> PodStatus:
    """The ``PodStatus`` of an engine that runs the containers itself (local, podman).

    ``statuses`` holds every container of the pod in spec order (init containers
    first); the pod is Running once any container runs, as the kubelet says.
    """
    return PodStatus(
        primary=primary,
        spec_containers=tuple(n for n, s in statuses.items() if s.kind == REGULAR),
        containers=tuple(statuses.values()),
        phase="Running" if any(s.state == RUNNING for s in statuses.values()) else "Pending",
        timed_out=timed_out,
        aborted=aborted,
        pending_since=pending_since,
        now=now,
    )
