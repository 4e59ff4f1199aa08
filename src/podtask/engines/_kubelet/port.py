"""The small port a container runtime offers the pod driver.

The driver knows what Kubernetes means (start order, probes, restarts, the
stop order and grace); a runtime only knows how to start, signal and watch
its containers.  Each engine that runs containers itself (local, podman, the
test API server's kubelet) implements these four calls and gets the rest by
construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from podtask._errors import SpecError
from podtask._lifecycle import INIT, NATIVE_SIDECAR, REGULAR

# Event kinds a runtime reports.
STARTED = "started"  # the container's process runs
EXITED = "exited"  # it ended: exit_code, signal, oom
START_ERROR = "error"  # it never ran: reason (StartError, ...), message, exit_code
LOST = "lost"  # the runtime itself died: no further events (name is empty)


@dataclass(frozen=True)
class RuntimeEvent:
    """What happened to one container, with the runtime's own clock (epoch seconds).

    Runtimes with an event type of their own translate it into this one, so that
    the driver reads typed fields, not whatever attributes an event happens to have.
    """

    kind: str
    name: str
    time: float
    exit_code: int | None = None
    signal: int | None = None
    oom: bool = False
    reason: str = ""
    message: str = ""
    # STARTED, where the runtime knows it: the main process's command name and whether
    # it is PID 1 of its own PID namespace (then it ignores signals it has no handler for).
    command: str = ""
    pid1: bool = False


class Runtime(Protocol):
    """Start, signal, watch and probe containers; nothing about what it means."""

    def start(self, names: Sequence[str]) -> None:
        """Start these containers (together, where the runtime can); report by events."""

    def signal(self, names: Sequence[str], sig: int) -> None:
        """Send ``sig`` to these running containers."""

    def next_event(self, timeout: float) -> RuntimeEvent | None:
        """The next container event, or None after ``timeout`` seconds."""

    def probe(self, name: str, spec: dict[str, Any], timeout: float) -> tuple[bool, str]:
        """One attempt of a probe (exec, tcpSocket or httpGet; ports numeric): (ok, output)."""
        ...


@dataclass(frozen=True)
class ContainerRef:
    """A container of the pod spec as the driver sees it; engines subclass it to add
    what their runtime needs."""

    name: str
    kind: str  # INIT, NATIVE_SIDECAR or REGULAR
    spec: dict[str, Any] = field(hash=False)
    where: str  # field path, e.g. spec.initContainers[0]

    def probe(self, kind: str) -> dict[str, Any] | None:
        """The container's probe of this kind (startupProbe, ...), if it has one."""
        p = self.spec.get(kind)
        return p if isinstance(p, dict) else None


def pod_containers(spec: dict[str, Any]) -> list[ContainerRef]:
    """Every container of a pod spec in start order, with its kind and field path."""
    out: list[ContainerRef] = []
    for i, c in enumerate(spec.get("initContainers") or []):
        kind = NATIVE_SIDECAR if c.get("restartPolicy") == "Always" else INIT
        out.append(ContainerRef(c["name"], kind, c, f"spec.initContainers[{i}]"))
    for i, c in enumerate(spec.get("containers") or []):
        out.append(ContainerRef(c["name"], REGULAR, c, f"spec.containers[{i}]"))
    return out


PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")


def numeric_ports(c: ContainerRef, probe: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``probe`` with a named port replaced by the container's port number."""
    out = dict(probe)
    for key in ("httpGet", "tcpSocket", "grpc"):
        action = probe.get(key)
        if not isinstance(action, dict) or not isinstance(action.get("port"), str):
            continue
        port = str(action["port"])
        if port.isdigit():
            number = int(port)
        else:
            match = [p for p in c.spec.get("ports") or [] if p.get("name") == port]
            if not match:
                raise SpecError(
                    f"probe port {port!r} is not a named port of {c.name}",
                    field=f"{c.where}.ports",
                    hint="add it to ports or use a number",
                )
            number = int(match[0]["containerPort"])
        out[key] = {**action, "port": number}
    return out


def check_probes(containers: Sequence[ContainerRef]) -> None:
    """SpecError for a probe whose named port does not exist, before anything starts."""
    for c in containers:
        for kind in PROBE_KINDS:
            if (spec := c.probe(kind)) is not None:
                numeric_ports(c, spec)


def cluster_only_volume(volume: dict[str, Any], where: str, engine: str, hint: str) -> SpecError:
    """The refusal of a volume kind that needs a cluster (ConfigMap, Secret, PVC, ...)."""
    kind = next((k for k in volume if k != "name"), "?")
    return SpecError(
        f"{kind} volumes need a cluster; the {engine} engine has emptyDir and hostPath",
        field=f"{where}.{kind}",
        hint=hint,
    )
