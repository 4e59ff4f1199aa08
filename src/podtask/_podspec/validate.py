"""Pre-flight checks of a normalized pod spec, each error naming the exact field.

The seed finds a typo in a container or volume name only when the pod fails
to start on the cluster. These checks catch, before anything runs, the
mistakes users make most (names, mounts, quantities, env, ports) and report
the first one with the Kubernetes JSON path of the offending field
(``spec.containers[1].volumeMounts[0].name``) and a hint. They complement,
not replace, the schema check in ``schema``: that one knows every field's
type, this one knows how fields refer to each other.
"""

from __future__ import annotations

import decimal
import difflib
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from podtask._errors import SpecError
from podtask._podspec.names import DNS1123_HINT, is_dns1123_label, is_env_name, is_port_name
from podtask._podspec.quantity import parse_quantity

#: Keys of a Volume that name its source; exactly one must be present.
VOLUME_SOURCES = frozenset(
    {
        "awsElasticBlockStore",
        "azureDisk",
        "azureFile",
        "cephfs",
        "cinder",
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "fc",
        "flexVolume",
        "flocker",
        "gcePersistentDisk",
        "gitRepo",
        "glusterfs",
        "hostPath",
        "image",
        "iscsi",
        "nfs",
        "persistentVolumeClaim",
        "photonPersistentDisk",
        "portworxVolume",
        "projected",
        "quobyte",
        "rbd",
        "scaleIO",
        "secret",
        "storageos",
        "vsphereVolume",
    }
)

_NATIVE_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_MAX_PORT = 65535


def validate_pod_spec(spec: Mapping[str, Any], *, primary: str, field: str = "spec") -> None:
    """Raise the first problem found in ``spec`` as a SpecError naming its exact field.

    ``primary`` is the primary container's name; it need not be in ``spec``
    (compile appends it) but must be a valid name and must not collide with
    an init container.
    """
    _check_primary(primary)
    if not isinstance(spec, Mapping):
        raise SpecError(f"the pod spec must be a mapping, not {type(spec).__name__}", field=field)
    volumes = _volumes(spec.get("volumes"), f"{field}.volumes")
    names: dict[str, str] = {}
    for key in ("containers", "initContainers"):
        path = f"{field}.{key}"
        for index, container in enumerate(_mappings(spec.get(key), path)):
            _container(container, f"{path}[{index}]", volumes, names)
    if names.get(primary, "").startswith(f"{field}.initContainers["):
        raise SpecError(
            f"{primary!r} names an init container, not a container",
            field="primary_container_name",
            hint=f"the task runs in a regular container; rename {names[primary]}",
        )


def _check_primary(primary: object) -> None:
    if not isinstance(primary, str) or not primary:
        raise SpecError(
            "the primary container name is empty",
            field="primary_container_name",
            hint="name the container the task function runs in, e.g. 'primary'",
        )
    if not is_dns1123_label(primary):
        raise SpecError(
            f"{primary!r} is not a valid container name",
            field="primary_container_name",
            hint=DNS1123_HINT,
        )


def _mappings(raw: object, path: str) -> list[Mapping[str, Any]]:
    """A list field whose items must all be objects; absent means empty."""
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise SpecError(f"must be a list, not {type(raw).__name__}", field=path)
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise SpecError(
                f"must be a mapping, not {type(item).__name__}", field=f"{path}[{index}]"
            )
    return list(raw)


def _name(obj: Mapping[str, Any], path: str, what: str) -> str:
    name = obj.get("name")
    if name is None or name == "":
        raise SpecError(f"every {what} needs a name", field=f"{path}.name", hint=DNS1123_HINT)
    if not is_dns1123_label(name):
        raise SpecError(
            f"{name!r} is not a valid {what} name", field=f"{path}.name", hint=DNS1123_HINT
        )
    return name


def _volumes(raw: object, path: str) -> dict[str, str]:
    """Check volumes; return volume name -> its path, for mounts to refer to."""
    seen: dict[str, str] = {}
    for index, volume in enumerate(_mappings(raw, path)):
        here = f"{path}[{index}]"
        name = _name(volume, here, "volume")
        if name in seen:
            raise SpecError(
                f"duplicate volume name {name!r}, already used by {seen[name]}",
                field=f"{here}.name",
            )
        seen[name] = here
        sources = [key for key in volume if key in VOLUME_SOURCES]
        if not sources:
            others = [key for key in volume if key != "name"]
            guesses = [
                m for key in others for m in difflib.get_close_matches(key, VOLUME_SOURCES, 1)
            ]
            hint = (
                f"did you mean {guesses[0]!r}? (keys are case-sensitive)"
                if guesses
                else "add one source, e.g. emptyDir: {}, configMap, secret or persistentVolumeClaim"
            )
            raise SpecError(f"volume {name!r} has no source", field=here, hint=hint)
        if len(sources) > 1:
            raise SpecError(
                f"volume {name!r} has {len(sources)} sources ({', '.join(sources)})",
                field=f"{here}.{sources[1]}",
                hint="a volume has exactly one source; split it into separate volumes",
            )
    return seen


def _container(
    container: Mapping[str, Any], path: str, volumes: Mapping[str, str], names: dict[str, str]
) -> None:
    name = _name(container, path, "container")
    if name in names:
        raise SpecError(
            f"duplicate container name {name!r}, already used by {names[name]}",
            field=f"{path}.name",
            hint="names must be unique across containers and initContainers",
        )
    names[name] = path
    _ports(container.get("ports"), f"{path}.ports")
    _env(container.get("env"), f"{path}.env")
    _resources(container.get("resources"), f"{path}.resources")
    _mounts(container.get("volumeMounts"), f"{path}.volumeMounts", volumes)


def _ports(raw: object, path: str) -> None:
    names: dict[str, str] = {}
    for index, port in enumerate(_mappings(raw, path)):
        here = f"{path}[{index}]"
        number = port.get("containerPort")
        if not _is_port_number(number):
            raise SpecError(
                f"containerPort must be an integer from 1 to {_MAX_PORT}, not {number!r}",
                field=f"{here}.containerPort",
            )
        host = port.get("hostPort")
        if host is not None and host != 0 and not _is_port_number(host):
            raise SpecError(
                f"hostPort must be an integer from 1 to {_MAX_PORT}, not {host!r}",
                field=f"{here}.hostPort",
            )
        protocol = port.get("protocol")
        if protocol is not None and protocol not in _PROTOCOLS:
            raise SpecError(
                f"protocol {protocol!r} is not one of {', '.join(_PROTOCOLS)}",
                field=f"{here}.protocol",
            )
        port_name = port.get("name")
        if port_name is None:
            continue
        if not is_port_name(port_name):
            raise SpecError(
                f"{port_name!r} is not a valid port name",
                field=f"{here}.name",
                hint="use at most 15 lowercase letters, digits and '-', with at least one letter",
            )
        if port_name in names:
            raise SpecError(
                f"duplicate port name {port_name!r}, already used by {names[port_name]}",
                field=f"{here}.name",
            )
        names[port_name] = here


def _is_port_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _MAX_PORT


def _env(raw: object, path: str) -> None:
    seen: dict[str, str] = {}
    for index, entry in enumerate(_mappings(raw, path)):
        here = f"{path}[{index}]"
        name = entry.get("name")
        if not is_env_name(name):
            raise SpecError(
                f"{name!r} is not a valid environment variable name",
                field=f"{here}.name",
                hint="use letters, digits, '_', '-' and '.', not starting with a digit",
            )
        if name in seen:
            raise SpecError(
                f"duplicate environment variable {name!r}, already set by {seen[name]}",
                field=f"{here}.name",
            )
        seen[name] = here
        value = entry.get("value")
        if value is not None and not isinstance(value, str):
            raise SpecError(
                f"env value must be a string, not {type(value).__name__}",
                field=f"{here}.value",
                hint=f'quote it in YAML: value: "{value}"',
            )
        if value is not None and entry.get("valueFrom") is not None:
            raise SpecError(
                f"environment variable {name!r} has both value and valueFrom",
                field=f"{here}.valueFrom",
                hint="keep one of them",
            )


def _resources(raw: object, path: str) -> None:
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise SpecError(f"must be a mapping, not {type(raw).__name__}", field=path)
    parsed: dict[str, dict[str, decimal.Decimal]] = {}
    for section in ("limits", "requests"):
        values = raw.get(section)
        here = f"{path}.{section}"
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise SpecError(f"must be a mapping, not {type(values).__name__}", field=here)
        parsed[section] = {}
        for resource, quantity in values.items():
            _resource_name(resource, f"{here}.{resource}")
            amount = parse_quantity(quantity, field=f"{here}.{resource}")
            if _is_extended(resource) and amount != amount.to_integral_value():
                raise SpecError(
                    f"{resource} must be a whole number, not {quantity!r}",
                    field=f"{here}.{resource}",
                )
            parsed[section][resource] = amount
    limits = parsed["limits"]
    for resource, request in parsed["requests"].items():
        here = f"{path}.requests.{resource}"
        limit = limits.get(resource)
        if limit is not None and request > limit:
            raise SpecError(
                f"request {raw['requests'][resource]!r} is above the limit "
                f"{raw['limits'][resource]!r}",
                field=here,
                hint="lower the request or raise the limit",
            )
        if _is_extended(resource) and limit != request:
            raise SpecError(
                f"{resource} is an extended resource: its request must equal its limit",
                field=here,
                hint=f"set resources.limits.{resource} to the same value (or only set the limit)",
            )


def _resource_name(resource: object, path: str) -> None:
    if not isinstance(resource, str):
        raise SpecError(f"resource name {resource!r} is not a string", field=path)
    if "/" in resource or resource in _NATIVE_RESOURCES or resource.startswith("hugepages-"):
        return
    hint = (
        "use cpu, memory, ephemeral-storage, hugepages-<size> or a domain name like nvidia.com/gpu"
    )
    if resource == "gpu":
        hint = "Kubernetes has no 'gpu' resource; use the device plugin's name, e.g. nvidia.com/gpu"
    raise SpecError(f"{resource!r} is not a container resource name", field=path, hint=hint)


def _is_extended(resource: str) -> bool:
    """Device-plugin style resources (nvidia.com/gpu): whole numbers, no overcommit."""
    return "/" in resource and not resource.split("/", 1)[0].endswith("kubernetes.io")


def _mounts(raw: object, path: str, volumes: Mapping[str, str]) -> None:
    mount_paths: dict[str, str] = {}
    for index, mount in enumerate(_mappings(raw, path)):
        here = f"{path}[{index}]"
        name = mount.get("name")
        if name is None or name == "":
            raise SpecError("every volumeMount needs the name of a volume", field=f"{here}.name")
        if name not in volumes:
            known = ", ".join(sorted(volumes))
            hint = (
                f"volumes in this pod spec: {known}"
                if known
                else f"add a volume named {name!r} to spec.volumes"
            )
            raise SpecError(
                f"volumeMount refers to unknown volume {name!r}", field=f"{here}.name", hint=hint
            )
        mount_path = mount.get("mountPath")
        if not isinstance(mount_path, str) or not mount_path.startswith("/"):
            raise SpecError(
                f"mountPath must be an absolute path, not {mount_path!r}",
                field=f"{here}.mountPath",
                hint="e.g. /data",
            )
        key = posixpath.normpath(mount_path)
        if key in mount_paths:
            raise SpecError(
                f"{mount_path!r} is already mounted by {mount_paths[key]}",
                field=f"{here}.mountPath",
                hint="each mountPath may appear once per container",
            )
        mount_paths[key] = here
        _sub_path(mount, here)


def _sub_path(mount: Mapping[str, Any], path: str) -> None:
    sub_path = mount.get("subPath")
    if sub_path is not None and sub_path != "":
        if not isinstance(sub_path, str) or sub_path.startswith("/"):
            raise SpecError(
                f"subPath must be a relative path, not {sub_path!r}", field=f"{path}.subPath"
            )
        if ".." in sub_path.split("/"):
            raise SpecError(
                f"subPath {sub_path!r} must not contain '..'",
                field=f"{path}.subPath",
                hint="subPath must stay inside the volume",
            )
        if mount.get("subPathExpr"):
            raise SpecError(
                "subPath and subPathExpr cannot both be set", field=f"{path}.subPathExpr"
            )


__all__ = ["VOLUME_SOURCES", "validate_pod_spec"]
