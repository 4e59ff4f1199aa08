"""The rendered Pod manifest rewritten into what podman 4.3.1 ``kube play`` honours.

Pure (no podman, no files).  Each rewrite answers a
measured gap (see docs/notes/podman-kube-play.md):

- init containers and native sidecars become ordinary containers, because
  podtask starts every container itself in Kubernetes' order (podman would
  block forever on a native sidecar and deletes init containers' logs);
- no container keeps a ``restartPolicy`` (the pod's is ``Never``, set once by
  ``attempt_manifest``: unset would mean Always in podman);
- probes are removed (podman ignores or mangles them; podtask runs startup
  probes itself);
- ``emptyDir`` becomes a hostPath directory under a per-run directory
  (podman would share a named volume between runs), on tmpfs for
  ``medium: Memory``; ``subPath`` becomes a hostPath of its own staging path
  (podman ignores subPath), onto which ``subpaths.py`` binds the subPath
  resolved inside its volume right before the container starts;
- ``$(VAR)`` is expanded and known ``fieldRef``s become plain values;
- ``imagePullPolicy: Never``: podtask checks and pulls images before playing,
  so a missing image fails fast instead of leaving a half-created pod;
- the primary gets the task's source and run directories at their own paths;
- each container's ``terminationMessagePath`` is a host file of the run, so the
  engine can read the message after the container is gone.
"""

from __future__ import annotations

import copy
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podtask._errors import SpecError
from podtask._lifecycle import INIT, NATIVE_SIDECAR, REGULAR
from podtask._podspec import expand, pod_field_values, resolve_env
from podtask.engines._kubelet.port import ContainerRef, cluster_only_volume
from podtask.engines._termination import DEFAULT_PATH, read_termination_message

NAMESPACE = "default"
OTHER_ENGINES = "use --engine kubernetes, which has a cluster"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
SOURCE_VOLUME = "podtask-source"
RUN_DIR_VOLUME = "podtask-run-dir"
TERMINATION_DIR = "podtask-termination"
SUBPATH_STAGING = "subpaths"  # next to ``volume_dir``: where subPaths are bound for podman


@dataclass(frozen=True)
class Container(ContainerRef):
    """One container of the pod as the engine starts it (``spec``: the user's, probes kept)."""

    podman_name: str  # <pod>-<name>, podman's name for it


@dataclass(frozen=True)
class SubPathMount:
    """A ``subPath`` mount: resolved and bound onto ``staging`` right before its container starts.

    podman is handed ``staging`` (under the run's work directory, which no
    container mounts), never a path inside the volume (``subpaths.py``).
    """

    container: str
    volume: str  # the user's volume name
    mount_path: str
    volume_path: str  # the volume's host directory
    sub_path: str  # normalized, relative
    staging: str  # the host path podman binds; podtask bind-mounts the resolved subPath here


@dataclass(frozen=True)
class PodmanPod:
    pod_name: str
    manifest: dict[str, Any] = field(hash=False)  # what ``kube play`` reads
    containers: tuple[Container, ...]
    host_dirs: tuple[str, ...]  # directories to create before playing (emptyDirs, subPaths)
    images: tuple[tuple[str, str, str], ...]  # (image, container, field path), unique images
    sub_paths: tuple[SubPathMount, ...] = ()
    # container -> (host file bound at its terminationMessagePath, its policy)
    termination: tuple[tuple[str, str, str], ...] = ()

    def termination_message(
        self, name: str, exit_code: int | None, log_tail: Callable[[int], bytes]
    ) -> str:
        """Container ``name``'s termination message, as the kubelet reads it."""
        for container, path, policy in self.termination:
            if container == name:
                return read_termination_message(path, policy, exit_code or 0, log_tail)
        return ""

    def container(self, name: str) -> Container:
        return next(c for c in self.containers if c.name == name)


def _env(c: dict[str, Any], meta: dict[str, Any], where: str) -> list[dict[str, str]]:
    """The container's env as plain name/value pairs, ``$(VAR)`` expanded in Kubernetes order."""
    fields = pod_field_values(meta, NAMESPACE)
    env = resolve_env(c, meta, where, fields=fields, engine="podman", hint=OTHER_ENGINES)
    return [{"name": k, "value": v} for k, v in env.items()]


def _check_sub_path(sub: str, where: str) -> str:
    norm = posixpath.normpath(sub)
    if sub.startswith("/") or norm == ".." or norm.startswith("../"):
        raise SpecError(
            f"subPath {sub!r} must be a relative path inside the volume",
            field=where,
            hint="drop the leading / and any ..",
        )
    return norm


def to_podman(
    manifest: dict[str, Any],
    *,
    primary: str,
    volume_dir: str,
    memory_dir: str,
    source_root: Path,
    run_dir: Path,
    extra_env: dict[str, str],
) -> PodmanPod:
    """Rewrite ``manifest`` for ``podman kube play``; raise SpecError for what cannot work.

    ``volume_dir`` / ``memory_dir`` are this run's directories for emptyDirs (on disk /
    on tmpfs); the caller creates ``host_dirs`` and removes both afterwards.
    """
    out = copy.deepcopy(manifest)
    meta = out.setdefault("metadata", {})
    pod_name = str(meta.get("name") or "")
    spec = out.setdefault("spec", {})
    host_dirs: list[str] = []

    volumes: dict[str, dict[str, Any]] = {}
    new_volumes: list[dict[str, Any]] = []
    for i, v in enumerate(spec.get("volumes") or []):
        name = str(v["name"])
        where = f"spec.volumes[{i}]"
        if "emptyDir" in v:
            medium = str((v.get("emptyDir") or {}).get("medium", ""))
            path = os.path.join(memory_dir if medium == "Memory" else volume_dir, name)
            host_dirs.append(path)
            entry = {"name": name, "hostPath": {"path": path, "type": "Directory"}}
            volumes[name] = {"path": path, "kind": "emptyDir"}
        elif "hostPath" in v:
            entry = copy.deepcopy(v)
            volumes[name] = {"path": str(v["hostPath"].get("path", "")), "kind": "hostPath"}
        else:
            raise cluster_only_volume(v, where, "podman", OTHER_ENGINES)
        new_volumes.append(entry)

    containers: list[Container] = []
    podman_specs: list[dict[str, Any]] = []
    images: dict[str, tuple[str, str, str]] = {}
    sources = [
        (
            c,
            f"spec.initContainers[{i}]",
            NATIVE_SIDECAR if c.get("restartPolicy") == "Always" else INIT,
        )
        for i, c in enumerate(spec.get("initContainers") or [])
    ] + [(c, f"spec.containers[{i}]", REGULAR) for i, c in enumerate(spec.get("containers") or [])]
    subs = 0
    sub_paths: list[SubPathMount] = []
    termination: list[tuple[str, str, str]] = []
    for c, where, kind in sources:
        name = str(c["name"])
        user_spec = copy.deepcopy(c)
        c = copy.deepcopy(c)
        is_primary = kind == REGULAR and name == primary
        for key in (*PROBES, "restartPolicy", "lifecycle"):
            c.pop(key, None)
        env = _env(c, meta, where)
        if is_primary:
            env = [e for e in env if e["name"] not in extra_env]
            env += [{"name": k, "value": v} for k, v in extra_env.items()]
        if env:
            c["env"] = env
        else:
            c.pop("env", None)
        values = {e["name"]: e["value"] for e in env}
        for key in ("command", "args"):
            if c.get(key):
                c[key] = [expand(str(a), values) for a in c[key]]
        image = str(c.get("image") or "")
        if not image:
            raise SpecError(
                f"container {name!r} has no image", field=f"{where}.image", hint="set image"
            )
        images.setdefault(image, (image, name, f"{where}.image"))
        c["imagePullPolicy"] = "Never"
        mounts = []
        for j, m in enumerate(c.get("volumeMounts") or []):
            mwhere = f"{where}.volumeMounts[{j}]"
            vol = volumes.get(str(m.get("name")))
            if vol is None:
                raise SpecError(f"no volume {m.get('name')!r}", field=f"{mwhere}.name")
            m = dict(m)
            sub = str(m.pop("subPath", "") or "")
            if m.get("subPathExpr"):
                sub = expand(str(m.pop("subPathExpr")), values)
            if sub:
                sub = _check_sub_path(sub, f"{mwhere}.subPath")
                subs += 1
                vname = f"{m['name']}-sub{subs}"
                staging = os.path.join(os.path.dirname(volume_dir), SUBPATH_STAGING, vname)
                new_volumes.append({"name": vname, "hostPath": {"path": staging, "type": ""}})
                sub_paths.append(
                    SubPathMount(
                        name, str(m["name"]), str(m.get("mountPath")), vol["path"], sub, staging
                    )
                )
                m["name"] = vname
            mounts.append(m)
        # terminationMessagePath: a host file of this run, so the message outlives the
        # container (podman ignores the field); read by PodmanPod.termination_message.
        term_dir = os.path.join(volume_dir, TERMINATION_DIR)
        if term_dir not in host_dirs:
            host_dirs.append(term_dir)
        term_file = os.path.join(term_dir, name)
        term_volume = f"{TERMINATION_DIR}-{len(termination)}"
        mounts.append(
            {
                "name": term_volume,
                "mountPath": str(c.pop("terminationMessagePath", "") or DEFAULT_PATH),
            }
        )
        new_volumes.append(
            {"name": term_volume, "hostPath": {"path": term_file, "type": "FileOrCreate"}}
        )
        termination.append((name, term_file, str(c.pop("terminationMessagePolicy", "") or "File")))
        if is_primary:
            taken = {str(m.get("mountPath")) for m in mounts}
            for vname, path, read_only in (
                (SOURCE_VOLUME, str(source_root), True),
                (RUN_DIR_VOLUME, str(run_dir), False),
            ):
                if path in taken:
                    continue
                taken.add(path)
                mounts.append({"name": vname, "mountPath": path, "readOnly": read_only})
                new_volumes.append({"name": vname, "hostPath": {"path": path, "type": "Directory"}})
        if mounts:
            c["volumeMounts"] = mounts
        podman_specs.append(c)
        containers.append(Container(name, kind, user_spec, where, f"{pod_name}-{name}"))
    spec.pop("initContainers", None)
    spec["containers"] = podman_specs
    if new_volumes:
        spec["volumes"] = new_volumes
    if not any(c.kind == REGULAR and c.name == primary for c in containers):
        raise SpecError(f"no container named {primary!r}", field="spec.containers")
    return PodmanPod(
        pod_name=pod_name,
        manifest=out,
        containers=tuple(containers),
        host_dirs=tuple(host_dirs),
        images=tuple(images.values()),
        sub_paths=tuple(sub_paths),
        termination=tuple(termination),
    )
