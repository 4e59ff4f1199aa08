"""What the local engine asks the pod supervisor to run: a resolved, JSON-able plan.

The engine turns a compiled Pod manifest into a ``PodPlan`` (env resolved,
``$(VAR)`` expanded, volumes mapped to host directories) so that the pod
supervisor (``podinit``) does no Kubernetes interpretation, only Linux work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class VolumePlan:
    name: str
    kind: str  # "emptyDir" | "hostPath"
    host_path: str  # emptyDir: a dir under PodPlan.work_dir; hostPath: the host path itself
    medium: str = ""  # "Memory" -> tmpfs mounted (inside the pod's mount namespace) at host_path
    size_limit_bytes: int | None = None  # tmpfs size for Memory emptyDirs


@dataclass(frozen=True)
class MountPlan:
    volume: str  # VolumePlan.name
    mount_path: str  # absolute path inside the container
    read_only: bool = False
    sub_path: str = ""  # relative path inside the volume; created when missing (emptyDir)


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    # command + args, already $(VAR)-expanded; argv[0] is looked up on the container's PATH
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]  # the container's complete environment, in order
    log_path: str  # stdout and stderr both go here (append, line-buffered by the child)
    working_dir: str = ""  # inside the container; "" = "/"
    mounts: tuple[MountPlan, ...] = ()
    memory_limit_bytes: int | None = None
    # Fork the supervisor's warm interpreter and call podtask.entrypoint.main(argv[3:])
    # instead of exec'ing argv (which must then be [python, "-m", "podtask.entrypoint", ...]).
    fork_entrypoint: bool = False


@dataclass(frozen=True)
class PodPlan:
    run_id: str
    pod_name: str
    namespace: str
    work_dir: str  # per-pod temp dir: overlay upper/work dirs, emptyDir dirs; removed on close
    volumes: tuple[VolumePlan, ...] = ()
    containers: tuple[ContainerPlan, ...] = ()
    isolate: bool = True  # False: plain host processes (no namespaces available)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PodPlan:
        vols = tuple(VolumePlan(**v) for v in data.get("volumes", ()))
        ctrs = tuple(
            ContainerPlan(
                **{
                    **c,
                    "argv": tuple(c["argv"]),
                    "env": tuple((k, v) for k, v in c["env"]),
                    "mounts": tuple(MountPlan(**m) for m in c.get("mounts", ())),
                }
            )
            for c in data.get("containers", ())
        )
        rest = {k: v for k, v in data.items() if k not in ("volumes", "containers")}
        return cls(volumes=vols, containers=ctrs, **rest)

    def container(self, name: str) -> ContainerPlan:
        for c in self.containers:
            if c.name == name:
                return c
        raise KeyError(name)
