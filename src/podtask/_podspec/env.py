"""A container's environment as the kubelet would build it, for engines that build it themselves.

The local and podman engines cannot ask a kubelet, so they resolve ``env`` here:
literal values with ``$(VAR)`` expansion in order, ``fieldRef`` to what the
engine can know, ``resourceFieldRef``, and a clear refusal of what needs a
cluster (ConfigMaps, Secrets, ``envFrom``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podtask._errors import SpecError
from podtask._podspec.expand import expand
from podtask._podspec.quantity import quantity_to_bytes


def pod_field_values(meta: Mapping[str, Any], namespace: str) -> dict[str, str]:
    """The ``fieldRef`` paths every engine can answer from the pod's own metadata."""
    name = str(meta.get("name", ""))
    return {
        "metadata.name": name,
        "metadata.namespace": namespace,
        "metadata.uid": name,
        "spec.serviceAccountName": "default",
    }


def _field_ref(
    path: str,
    meta: Mapping[str, Any],
    fields: Mapping[str, str],
    where: str,
    engine: str,
    hint: str,
) -> str:
    if path in fields:
        return fields[path]
    for key in ("labels", "annotations"):
        prefix = f"metadata.{key}['"
        if path.startswith(prefix) and path.endswith("']"):
            return str(meta.get(key, {}).get(path[len(prefix) : -2], ""))
    known = ", ".join(sorted(fields))
    raise SpecError(
        f"fieldRef {path!r} is not supported by the {engine} engine",
        field=f"{where}.valueFrom.fieldRef.fieldPath",
        hint=f"use {known}, labels or annotations, or {hint}",
    )


def _resource_ref(ref: Mapping[str, Any], container: Mapping[str, Any], where: str) -> str:
    section, _, name = str(ref.get("resource", "")).partition(".")
    value = (container.get("resources") or {}).get(section, {}).get(name)
    if value is None:
        return "0"
    if name == "memory" or name.endswith("storage"):
        return str(quantity_to_bytes(value, field=where))
    return str(value)


def resolve_env(
    container: Mapping[str, Any],
    meta: Mapping[str, Any],
    where: str,
    *,
    fields: Mapping[str, str],
    engine: str,
    hint: str,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``base`` and then the container's env entries, in order, as name -> value.

    ``fields`` maps the ``fieldRef`` paths this engine can answer to their values;
    ``hint`` names where to go for what only a cluster has.
    """
    env = dict(base or {})
    if container.get("envFrom"):
        raise SpecError(
            f"envFrom (ConfigMaps/Secrets) is not supported by the {engine} engine",
            field=f"{where}.envFrom",
            hint=hint,
        )
    for j, e in enumerate(container.get("env") or []):
        name = str(e["name"])
        here = f"{where}.env[{j}]"
        src = e.get("valueFrom")
        if src:
            if "fieldRef" in src:
                path = str(src["fieldRef"].get("fieldPath", ""))
                env[name] = _field_ref(path, meta, fields, here, engine, hint)
            elif "resourceFieldRef" in src:
                env[name] = _resource_ref(src["resourceFieldRef"], container, here)
            else:
                kind = next(iter(src), "valueFrom")
                if (src.get(kind) or {}).get("optional"):
                    continue
                raise SpecError(
                    f"{kind} needs a cluster: ConfigMaps and Secrets do not exist on the"
                    f" {engine} engine",
                    field=f"{here}.valueFrom.{kind}",
                    hint=hint,
                )
        else:
            env[name] = expand(str(e.get("value", "")), env)
    return env
