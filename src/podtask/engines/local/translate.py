"""Kubernetes Pod manifest -> ``PodPlan``: the Kubernetes meaning, resolved for one host.

Everything that needs Kubernetes knowledge happens here (env ``valueFrom``,
``$(VAR)`` expansion, volume types, named probe ports, native sidecars) so the
pod supervisor only does Linux work.  Anything the local engine cannot honour
is a ``SpecError`` naming the field and pointing to an engine that can.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from podtask._errors import SpecError
from podtask._lifecycle import REGULAR
from podtask._podspec import expand, pod_field_values, quantity_to_bytes
from podtask._podspec import resolve_env as resolve_pod_env
from podtask.engines._kubelet.port import ContainerRef, cluster_only_volume, pod_containers
from podtask.engines.local import security
from podtask.engines.local.plan import ContainerPlan, MountPlan, PodPlan, VolumePlan

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RUN_DIR_VOLUME = "podtask-run-dir"
NAMESPACE = "default"
OTHER_ENGINES = "use --engine podman or --engine kubernetes"


ContainerInfo = ContainerRef  # a container of the pod with what the engine needs beyond its plan
container_infos = pod_containers


def resolve_env(
    c: dict[str, Any], manifest: dict[str, Any], where: str, base: dict[str, str]
) -> dict[str, str]:
    """The container's environment in Kubernetes order: base, then its env entries in order.

    The local engine can also answer the node and IP field paths: everything is this host.
    """
    meta = manifest.get("metadata", {})
    fields = {
        **pod_field_values(meta, NAMESPACE),
        "spec.nodeName": socket.gethostname(),
        "status.podIP": "127.0.0.1",
        "status.hostIP": "127.0.0.1",
    }
    return resolve_pod_env(
        c, meta, where, fields=fields, engine="local", hint=OTHER_ENGINES, base=base
    )


def _volumes(spec: dict[str, Any], work_dir: str) -> dict[str, VolumePlan]:
    out: dict[str, VolumePlan] = {}
    for i, v in enumerate(spec.get("volumes") or []):
        name = v["name"]
        where = f"spec.volumes[{i}]"
        if "emptyDir" in v:
            ed = v["emptyDir"] or {}
            size = ed.get("sizeLimit")
            out[name] = VolumePlan(
                name=name,
                kind="emptyDir",
                host_path=os.path.join(work_dir, "volumes", name),
                medium=str(ed.get("medium", "")),
                size_limit_bytes=quantity_to_bytes(size, field=f"{where}.emptyDir.sizeLimit")
                if size
                else None,
            )
        elif "hostPath" in v:
            hp = v["hostPath"]
            path = str(hp.get("path", ""))
            kind = hp.get("type", "")
            p = Path(path)
            if (
                kind in ("Directory", "File", "Socket", "CharDevice", "BlockDevice")
                and not p.exists()
            ):
                raise SpecError(
                    f"hostPath {path} does not exist",
                    field=f"{where}.hostPath.path",
                    hint="create it, or use type DirectoryOrCreate",
                )
            out[name] = VolumePlan(name=name, kind="hostPath", host_path=path)
        else:
            raise cluster_only_volume(v, where, "local", OTHER_ENGINES)
    return out


def create_host_paths(manifest: dict[str, Any]) -> None:
    """Make the hostPath volumes of type DirectoryOrCreate / FileOrCreate, as the kubelet does."""
    for v in manifest.get("spec", {}).get("volumes") or []:
        hp = v.get("hostPath")
        if not hp:
            continue
        p = Path(hp["path"])
        if hp.get("type") == "DirectoryOrCreate":
            p.mkdir(parents=True, exist_ok=True)
        elif hp.get("type") == "FileOrCreate" and not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch()


def build_plan(
    manifest: dict[str, Any],
    *,
    run_id: str,
    primary: str,
    work_dir: str,
    log_path: Any,
    run_dir: Path,
    extra_env: dict[str, str],
    isolate: bool,
    fork_primary: bool = True,
) -> tuple[PodPlan, list[ContainerInfo]]:
    """Resolve the manifest into a plan; ``log_path(name)`` gives each container's log file."""
    spec = manifest.get("spec", {})
    pod_name = str(manifest.get("metadata", {}).get("name", run_id))
    security.check_pod(spec)
    infos = container_infos(spec)
    volumes = _volumes(spec, work_dir)
    volumes[RUN_DIR_VOLUME] = VolumePlan(
        name=RUN_DIR_VOLUME, kind="hostPath", host_path=str(run_dir)
    )
    plans: list[ContainerPlan] = []
    base = {"PATH": DEFAULT_PATH, "HOSTNAME": pod_name, "HOME": "/root"}
    for info in infos:
        c = info.spec
        is_primary = info.name == primary and info.kind == REGULAR
        if is_primary:
            # The primary runs this interpreter, so it sees the user's code and packages;
            # it keeps the user's shell environment, as a local run of the function would.
            env = resolve_env(
                c,
                manifest,
                info.where,
                {**os.environ, **base, "PATH": os.environ.get("PATH", DEFAULT_PATH)},
            )
            env.update(extra_env)
        else:
            env = resolve_env(c, manifest, info.where, base)
        command = c.get("command") or []
        if not command:
            raise SpecError(
                f"container {info.name!r} has no command; the local engine runs commands"
                " from the host and cannot use its image's entrypoint",
                field=f"{info.where}.command",
                hint="set command (and args), or use --engine podman",
            )
        # The primary's command is the engine's entrypoint, set by attempt_manifest.
        argv = [expand(a, env) for a in [*command, *(c.get("args") or [])]]
        mounts = []
        for j, m in enumerate(c.get("volumeMounts") or []):
            if m["name"] not in volumes:
                raise SpecError(
                    f"no volume {m['name']!r}", field=f"{info.where}.volumeMounts[{j}].name"
                )
            sub = m.get("subPath") or ""
            if m.get("subPathExpr"):
                sub = expand(str(m["subPathExpr"]), env)
            mounts.append(
                MountPlan(
                    volume=m["name"],
                    mount_path=m["mountPath"],
                    read_only=bool(m.get("readOnly")),
                    sub_path=sub,
                )
            )
        if is_primary:
            # Outputs must reach the host: the run directory is bound in at its own path.
            # (The code is visible through the overlay of the host's files.)
            mounts.append(MountPlan(volume=RUN_DIR_VOLUME, mount_path=str(run_dir)))
        limit = (c.get("resources") or {}).get("limits", {}).get("memory")
        sec = security.container_fields(spec, c)
        sec["termination_message_path"] = str(
            c.get("terminationMessagePath") or "/dev/termination-log"
        )
        sec["termination_message_policy"] = str(c.get("terminationMessagePolicy") or "File")
        if is_primary and sec["run_as_user"]:
            sec["user_dirs"] = (str(run_dir / "outputs"),)  # where the entrypoint writes
        plans.append(
            ContainerPlan(
                name=info.name,
                argv=tuple(argv),
                env=tuple(env.items()),
                log_path=str(log_path(info.name)),
                working_dir=str(c.get("workingDir") or ""),
                mounts=tuple(mounts),
                memory_limit_bytes=quantity_to_bytes(
                    limit, field=f"{info.where}.resources.limits.memory"
                )
                if limit is not None
                else None,
                # `python -m MODULE ...`: a fork of the warm interpreter runs MODULE.main.
                fork_entrypoint=is_primary and fork_primary and argv[1:2] == ["-m"],
                **sec,
            )
        )
    if not isolate:
        for p in plans:
            if p.read_only_root:
                raise SpecError(
                    f"container {p.name!r} asks for readOnlyRootFilesystem, which needs a"
                    " private mount namespace, and namespaces are not available here",
                    field="securityContext.readOnlyRootFilesystem",
                    hint="run as root on Linux, or use --engine podman",
                )
            for m in p.mounts:
                if m.volume == RUN_DIR_VOLUME:
                    continue
                vol = volumes[m.volume]
                target = os.path.join(vol.host_path, m.sub_path) if m.sub_path else vol.host_path
                if os.path.realpath(m.mount_path) != os.path.realpath(target):
                    raise SpecError(
                        f"container {p.name!r} mounts {m.volume!r} at {m.mount_path}, which needs"
                        " a private mount namespace, and namespaces are not available here",
                        field="spec.volumes",
                        hint="run as root on Linux, or use --engine podman",
                    )
    plan = PodPlan(
        run_id=run_id,
        pod_name=pod_name,
        namespace=NAMESPACE,
        work_dir=work_dir,
        volumes=tuple(volumes.values()),
        containers=tuple(plans),
        isolate=isolate,
        host_network=bool(spec.get("hostNetwork")),
        host_ipc=bool(spec.get("hostIPC")),
        fs_group=security.fs_group(spec),
        share_process_namespace=bool(spec.get("shareProcessNamespace")),
    )
    return plan, infos
