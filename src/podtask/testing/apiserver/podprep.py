"""What the kubelet resolves from the API before a pod's containers can start.

The local engine runs a manifest as it is and knows nothing of the API, so
the test kubelet hands it a resolved copy, as a real kubelet would have
resolved it:

- ``configMap`` volumes are written into a per-pod directory (keys or
  ``items``, ``defaultMode`` / item ``mode``) and mounted read-only; a missing
  ConfigMap that is not ``optional`` keeps the pod in ``ContainerCreating``
  and is retried, as the kubelet's volume manager does;
- ``env`` from a ConfigMap (``configMapKeyRef``, ``envFrom.configMapRef``)
  becomes literal values; a missing one gives ``CreateContainerConfigError``
  (``configmap "x" not found``), also retried;
- ``fieldRef`` paths that only the API knows (the pod's namespace, uid, node,
  service account) become literal values, and the ``KUBERNETES_SERVICE_*``
  variables point at this server, since pods share its network;
- each container's ``terminationMessagePath`` is a file of its own, bound in,
  so the kubelet can read what the container wrote there when it ends.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podtask.testing.apiserver.configmaps import files

Lookup = Callable[[str, str], "dict[str, Any] | None"]  # namespace, name -> ConfigMap
TERMINATION_VOLUME = "podtask-termination-log-{}"
DEFAULT_MODE = 0o644
MAX_MESSAGE = 4096  # bytes of a termination message file the kubelet keeps
FALLBACK_LINES = 80  # log lines FallbackToLogsOnError keeps ...
FALLBACK_BYTES = 2048  # ... and at most this many bytes of them


class NotReady(Exception):
    """The pod cannot start yet; ``reason`` is the containers' waiting reason."""

    def __init__(self, reason: str, message: str, container: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.container = container


def _literal(value: str) -> dict[str, str]:
    """An env ``value`` that ``$(VAR)`` expansion leaves as it is."""
    return {"value": value.replace("$", "$$")}


def _write_volume(
    name: str, source: dict[str, Any], cm: dict[str, Any] | None, target: Path
) -> None:
    """Fill ``target`` with what a configMap volume shows, as the kubelet's atomic writer."""
    data = files(cm) if cm is not None else {}
    mode = int(source.get("defaultMode", DEFAULT_MODE))
    wanted: list[tuple[str, str, int]] = []
    if source.get("items"):
        for item in source["items"]:
            key = str(item.get("key", ""))
            if key not in data:
                if source.get("optional"):
                    continue
                raise NotReady(
                    "ContainerCreating",
                    f'MountVolume.SetUp failed for volume "{name}" : configmap references'
                    f" non-existent config key: {key}",
                )
            wanted.append((key, str(item.get("path", key)), int(item.get("mode", mode))))
    else:
        wanted = [(key, key, mode) for key in sorted(data)]
    fresh = target.with_name(target.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for key, rel, file_mode in wanted:
        path = fresh / rel
        if not path.resolve().is_relative_to(fresh.resolve()):
            raise NotReady(
                "ContainerCreating",
                f'MountVolume.SetUp failed for volume "{name}" : path {rel!r} escapes the volume',
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[key])
        path.chmod(file_mode & 0o777)
    fresh.chmod(0o755)
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)


def _volumes(spec: dict[str, Any], namespace: str, lookup: Lookup, volume_dir: Path) -> set[str]:
    """Materialize configMap volumes as read-only hostPaths; returns their names."""
    done: set[str] = set()
    for v in spec.get("volumes") or []:
        source = v.get("configMap")
        if source is None:
            continue
        name, cm_name = str(v["name"]), str(source.get("name", ""))
        cm = lookup(namespace, cm_name)
        if cm is None and not source.get("optional"):
            raise NotReady(
                "ContainerCreating",
                f'MountVolume.SetUp failed for volume "{name}" : configmap "{cm_name}" not found',
            )
        target = volume_dir / name
        _write_volume(name, source, cm, target)
        v.pop("configMap")
        v["hostPath"] = {"path": str(target), "type": "Directory"}
        done.add(name)
    return done


def _env(
    c: dict[str, Any],
    namespace: str,
    lookup: Lookup,
    fields: dict[str, str],
    service: list[dict[str, Any]],
) -> None:
    """Resolve a container's env in place: ConfigMaps, API-only fieldRefs, service env."""
    name = str(c.get("name", ""))
    resolved: list[dict[str, Any]] = list(service)
    kept_from: list[dict[str, Any]] = []
    for src in c.get("envFrom") or []:
        ref = src.get("configMapRef")
        if ref is None:
            kept_from.append(src)  # Secrets: the local engine refuses them with the field named
            continue
        cm = lookup(namespace, str(ref.get("name", "")))
        if cm is None:
            if ref.get("optional"):
                continue
            raise NotReady(
                "CreateContainerConfigError", f'configmap "{ref.get("name", "")}" not found', name
            )
        prefix = str(src.get("prefix", ""))
        for key, value in sorted((cm.get("data") or {}).items()):
            resolved.append({"name": prefix + key, **_literal(str(value))})
    for e in c.get("env") or []:
        value_from = e.get("valueFrom") or {}
        ref = value_from.get("configMapKeyRef")
        path = (value_from.get("fieldRef") or {}).get("fieldPath")
        if ref is not None:
            cm_name, key = str(ref.get("name", "")), str(ref.get("key", ""))
            cm = lookup(namespace, cm_name)
            value = None if cm is None else (cm.get("data") or {}).get(key)
            if value is None:
                if ref.get("optional"):
                    continue
                message = (
                    f'configmap "{cm_name}" not found'
                    if cm is None
                    else f"couldn't find key {key} in ConfigMap {namespace}/{cm_name}"
                )
                raise NotReady("CreateContainerConfigError", message, name)
            resolved.append({"name": e["name"], **_literal(str(value))})
        elif path in fields:
            resolved.append({"name": e["name"], **_literal(fields[path])})
        else:
            resolved.append(e)
    c["env"] = resolved
    if kept_from:
        c["envFrom"] = kept_from
    else:
        c.pop("envFrom", None)


def _termination_files(spec: dict[str, Any], message_dir: Path) -> None:
    """Give each container its own termination-message file, bound at its path."""
    message_dir.mkdir(parents=True, exist_ok=True)
    volumes = spec.setdefault("volumes", [])
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    for i, c in enumerate(containers):
        path = message_file(message_dir, str(c["name"]))
        path.touch()
        path.chmod(0o666)  # the container may run as any user
        volume = TERMINATION_VOLUME.format(i)
        volumes.append({"name": volume, "hostPath": {"path": str(path), "type": "File"}})
        mount_path = str(c.get("terminationMessagePath") or "/dev/termination-log")
        c.setdefault("volumeMounts", []).append({"name": volume, "mountPath": mount_path})


def message_file(message_dir: Path, container: str) -> Path:
    return message_dir / container


def prepare(
    manifest: dict[str, Any],
    *,
    lookup: Lookup,
    pod_dir: Path,
    node_name: str,
    api_port: int,
    isolate: bool,
) -> dict[str, Any]:
    """A copy of ``manifest`` the local engine can run as the kubelet would; or NotReady."""
    out = copy.deepcopy(manifest)
    meta, spec = out.get("metadata", {}), out.setdefault("spec", {})
    namespace = str(meta.get("namespace", "default"))
    read_only = _volumes(spec, namespace, lookup, pod_dir / "volumes")
    fields = {
        "metadata.namespace": namespace,
        "metadata.uid": str(meta.get("uid", "")),
        "spec.nodeName": node_name,
        "spec.serviceAccountName": str(spec.get("serviceAccountName", "default")),
    }
    port = str(api_port)
    service = [
        {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
        {"name": "KUBERNETES_SERVICE_PORT", "value": port},
        {"name": "KUBERNETES_SERVICE_PORT_HTTPS", "value": port},
        {"name": "KUBERNETES_PORT", "value": f"tcp://127.0.0.1:{port}"},
        {"name": f"KUBERNETES_PORT_{port}_TCP", "value": f"tcp://127.0.0.1:{port}"},
        {"name": f"KUBERNETES_PORT_{port}_TCP_PROTO", "value": "tcp"},
        {"name": f"KUBERNETES_PORT_{port}_TCP_PORT", "value": port},
        {"name": f"KUBERNETES_PORT_{port}_TCP_ADDR", "value": "127.0.0.1"},
    ]
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        _env(c, namespace, lookup, fields, service)
        for m in c.get("volumeMounts") or []:
            if m.get("name") in read_only:
                m["readOnly"] = True
    if isolate:
        _termination_files(spec, pod_dir / "termination")
    return out


def read_message(path: Path, policy: str, exit_code: int, log: Path | None) -> str:
    """``state.terminated.message``: the file (4 KiB at most), or the log tail on error."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_MESSAGE)
    except OSError:
        data = b""
    if not data and policy == "FallbackToLogsOnError" and exit_code != 0 and log is not None:
        try:
            with log.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 64 * 1024))
                tail = fh.read()
        except OSError:
            tail = b""
        lines = tail.splitlines(keepends=True)[-FALLBACK_LINES:]
        data = b"".join(lines)[-FALLBACK_BYTES:]
    return data.decode("utf-8", "replace")
