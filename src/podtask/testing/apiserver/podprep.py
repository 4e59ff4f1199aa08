"""What the kubelet resolves from the API before a pod's containers can start.

The local engine runs a manifest as it is and knows nothing of the API, so
the test kubelet hands it a resolved copy, as a real kubelet would have
resolved it:

- ``configMap`` and ``projected`` volumes (the service-account token, the
  CA, the namespace) are written into a per-pod directory (keys or
  ``items``, ``defaultMode`` / item ``mode``) and mounted read-only; a missing
  ConfigMap that is not ``optional`` keeps the pod in ``ContainerCreating``
  and is retried, as the kubelet's volume manager does;
- ``env`` from a ConfigMap (``configMapKeyRef``, ``envFrom.configMapRef``)
  becomes literal values; a missing one gives ``CreateContainerConfigError``
  (``configmap "x" not found``), also retried;
- ``fieldRef`` paths that only the API knows (the pod's namespace, uid, node,
  service account) become literal values, and the ``KUBERNETES_SERVICE_*``
  variables point at this server, since pods share its network;

Termination messages need nothing here: the local engine gives each container
its own file at ``terminationMessagePath`` and reads it as the kubelet does
(``podtask.engines._termination``), and its exit event carries the message.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podtask.testing.apiserver.admission import is_token_volume
from podtask.testing.apiserver.configmaps import files

Lookup = Callable[[str, str], "dict[str, Any] | None"]  # namespace, name -> ConfigMap
DEFAULT_MODE = 0o644


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


Entry = tuple[str, bytes, int]  # path in the volume, content, mode


@dataclass(frozen=True)
class _Context:
    namespace: str
    lookup: Lookup
    token: str


def _configmap_entries(name: str, source: dict[str, Any], cm: dict[str, Any] | None) -> list[Entry]:
    """The files a configMap volume (or projection) shows: every key, or ``items``."""
    data = files(cm) if cm is not None else {}
    mode = int(source.get("defaultMode", DEFAULT_MODE))
    if not source.get("items"):
        return [(key, data[key], mode) for key in sorted(data)]
    out: list[Entry] = []
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
        out.append((str(item.get("path", key)), data[key], int(item.get("mode", mode))))
    return out


def _missing(name: str, kind: str, ref: str) -> NotReady:
    return NotReady(
        "ContainerCreating",
        f'MountVolume.SetUp failed for volume "{name}" : {kind} "{ref}" not found',
    )


def _downward(field: str, meta: dict[str, Any]) -> str:
    if field in ("metadata.namespace", "metadata.name", "metadata.uid"):
        return str(meta.get(field.split(".", 1)[1], ""))
    if field in ("metadata.labels", "metadata.annotations"):
        items = meta.get(field.split(".", 1)[1]) or {}
        return "".join(f'{k}="{v}"\n' for k, v in sorted(items.items()))
    return ""


def _projected_entries(
    name: str, source: dict[str, Any], meta: dict[str, Any], ctx: _Context
) -> list[Entry]:
    """A projected volume: service-account token, ConfigMaps, the downward API."""
    mode = int(source.get("defaultMode", DEFAULT_MODE))
    out: list[Entry] = []
    for src in source.get("sources") or []:
        if "serviceAccountToken" in src:
            path = str(src["serviceAccountToken"].get("path", "token"))
            out.append((path, ctx.token.encode(), mode))
        elif "configMap" in src:
            ref = src["configMap"]
            cm = ctx.lookup(ctx.namespace, str(ref.get("name", "")))
            if cm is None and not ref.get("optional"):
                raise _missing(name, "configmap", str(ref.get("name", "")))
            out.extend(_configmap_entries(name, {"defaultMode": mode, **ref}, cm))
        elif "downwardAPI" in src:
            for item in src["downwardAPI"].get("items") or []:
                field = str((item.get("fieldRef") or {}).get("fieldPath", ""))
                entry = (str(item.get("path", "")), _downward(field, meta).encode())
                out.append((*entry, int(item.get("mode", mode))))
        else:
            kind = next(iter(src), "?")
            ref = src.get(kind) or {}
            if not ref.get("optional"):
                raise _missing(name, kind, str(ref.get("name", "")))  # no Secrets here
    return out


def _write_entries(name: str, entries: list[Entry], target: Path) -> None:
    """Fill ``target`` with the volume's files, whole or not at all (a fresh dir renamed)."""
    fresh = target.with_name(target.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for rel, data, file_mode in entries:
        path = fresh / rel
        if not path.resolve().is_relative_to(fresh.resolve()):
            raise NotReady(
                "ContainerCreating",
                f'MountVolume.SetUp failed for volume "{name}" : path {rel!r} escapes the volume',
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(file_mode & 0o777)
    fresh.chmod(0o755)
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)


def _volumes(
    spec: dict[str, Any], meta: dict[str, Any], ctx: _Context, volume_dir: Path
) -> set[str]:
    """Materialize configMap and projected volumes as read-only hostPaths; returns their names."""
    done: set[str] = set()
    for v in spec.get("volumes") or []:
        name = str(v.get("name", ""))
        if "configMap" in v:
            source = v["configMap"]
            cm_name = str(source.get("name", ""))
            cm = ctx.lookup(ctx.namespace, cm_name)
            if cm is None and not source.get("optional"):
                raise _missing(name, "configmap", cm_name)
            entries = _configmap_entries(name, source, cm)
        elif "projected" in v:
            entries = _projected_entries(name, v["projected"], meta, ctx)
        else:
            continue
        target = volume_dir / name
        _write_entries(name, entries, target)
        v.pop("configMap", None)
        v.pop("projected", None)
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


def _drop_token_volume(spec: dict[str, Any]) -> None:
    names = {v["name"] for v in spec.get("volumes") or [] if is_token_volume(v)}
    spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") not in names]
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        c["volumeMounts"] = [m for m in c.get("volumeMounts") or [] if m.get("name") not in names]


def prepare(
    manifest: dict[str, Any],
    *,
    lookup: Lookup,
    pod_dir: Path,
    node_name: str,
    api_port: int,
    isolate: bool,
    token: str,
) -> dict[str, Any]:
    """A copy of ``manifest`` the local engine can run as the kubelet would; or NotReady."""
    out = copy.deepcopy(manifest)
    meta, spec = out.get("metadata", {}), out.setdefault("spec", {})
    namespace = str(meta.get("namespace", "default"))
    if not isolate:
        _drop_token_volume(spec)  # no mount namespace: it could not be mounted
    read_only = _volumes(spec, meta, _Context(namespace, lookup, token), pod_dir / "volumes")
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
    return out
