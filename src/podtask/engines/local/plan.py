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
    # securityContext, resolved (pod's, then the container's): see engines/local/security.py
    run_as_user: int | None = None  # None: podtask's own user
    run_as_group: int | None = None
    supplemental_groups: tuple[int, ...] | None = None  # None: keep podtask's groups
    run_as_non_root: bool = False  # refuse to start when the user would be 0
    read_only_root: bool = False  # the root (not the volumes) mounted read-only
    no_new_privs: bool = False  # allowPrivilegeEscalation: false
    drop_caps: tuple[int, ...] = ()  # capability numbers removed from every set
    # Host dirs that a non-root run_as_user must be able to write (the primary's outputs).
    user_dirs: tuple[str, ...] = ()
    # Kubernetes' terminationMessagePath / terminationMessagePolicy ("File" or
    # "FallbackToLogsOnError"); "" path: no termination message (plain processes).
    termination_message_path: str = "/dev/termination-log"
    termination_message_policy: str = "File"


@dataclass(frozen=True)
class PodPlan:
    run_id: str
    pod_name: str
    namespace: str
    work_dir: str  # per-pod temp dir: overlay upper/work dirs, emptyDir dirs; removed on close
    volumes: tuple[VolumePlan, ...] = ()
    containers: tuple[ContainerPlan, ...] = ()
    isolate: bool = True  # False: plain host processes (no namespaces available)
    host_network: bool = False  # hostNetwork: the host's network and UTS namespaces
    host_ipc: bool = False  # hostIPC: the host's IPC namespace
    fs_group: int | None = None  # emptyDirs are owned by this group (setgid), as with fsGroup
    # shareProcessNamespace. False: each container is PID 1 of its own PID namespace
    # inside the pod's (isolated pods only), as on a cluster; translate sets it from
    # the spec (Kubernetes' default is false); True keeps one namespace for the pod.
    share_process_namespace: bool = True

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
                    "drop_caps": tuple(c.get("drop_caps", ())),
                    "user_dirs": tuple(c.get("user_dirs", ())),
                    "supplemental_groups": None
                    if c.get("supplemental_groups") is None
                    else tuple(c["supplemental_groups"]),
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
