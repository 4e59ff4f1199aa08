"""k8s-proto messages (the seed's ``generated_pb2.PodSpec``) -> Kubernetes JSON.

``json_format.MessageToDict`` is not enough: the protobuf schema of k8s-proto
differs from the Kubernetes JSON schema wherever Go code embeds one struct in
another (``Volume`` embeds ``VolumeSource``, ``Probe`` embeds ``Handler``,
``ConfigMapVolumeSource`` and friends embed ``LocalObjectReference``) and for
the apimachinery wrapper types (``Quantity``, ``IntOrString``, ``Time``). So
the message is walked field by field with ``ListFields()``, which in proto2
yields only the fields the user set: unset scalars and empty lists vanish on
their own.

Nothing here imports protobuf: the message is duck-typed through its
``DESCRIPTOR`` so that ``import podtask`` never pays for protobuf.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from podtask._errors import SpecError

_CORE = "k8s.io.api.core.v1."
_META = "k8s.io.apimachinery.pkg.apis.meta.v1."

POD_SPEC = _CORE + "PodSpec"
#: Messages accepted as a pod spec; the wrappers are unwrapped by ``normalize``.
ACCEPTED = frozenset({POD_SPEC, _CORE + "Pod", _CORE + "PodTemplate", _CORE + "PodTemplateSpec"})

# Go structs embedded without a JSON name: their fields belong to the parent object.
# (message, field) pairs; found by comparing the k8s-proto 0.0.3 descriptors with the
# Go types. Lifecycle.postStart/preStop are *named* Handler fields, not embeddings.
_INLINE = frozenset(
    {
        (_CORE + "Volume", "volumeSource"),
        (_CORE + "Probe", "handler"),
        (_CORE + "ConfigMapEnvSource", "localObjectReference"),
        (_CORE + "ConfigMapKeySelector", "localObjectReference"),
        (_CORE + "ConfigMapProjection", "localObjectReference"),
        (_CORE + "ConfigMapVolumeSource", "localObjectReference"),
        (_CORE + "SecretEnvSource", "localObjectReference"),
        (_CORE + "SecretKeySelector", "localObjectReference"),
        (_CORE + "SecretProjection", "localObjectReference"),
        # Newer k8s-proto releases may add these; harmless if absent.
        (_CORE + "ProbeHandler", "handler"),
        (_CORE + "LifecycleHandler", "handler"),
    }
)

# google.protobuf.descriptor.FieldDescriptor constants, copied so protobuf is not imported.
_TYPE_MESSAGE = 11
_TYPE_BYTES = 12
_TYPE_ENUM = 14
_LABEL_REPEATED = 3


def is_message(obj: object) -> bool:
    """True for any protobuf message (has a descriptor with a full name and ``ListFields``)."""
    descriptor = getattr(obj, "DESCRIPTOR", None)
    return isinstance(getattr(descriptor, "full_name", None), str) and hasattr(obj, "ListFields")


def full_name(obj: object) -> str:
    """The protobuf type name of ``obj`` (``k8s.io.api.core.v1.PodSpec``)."""
    return str(obj.DESCRIPTOR.full_name)  # type: ignore[attr-defined]


def message_to_json(message: Any, *, field: str) -> dict[str, Any]:
    """Convert a k8s-proto message into a fresh Kubernetes JSON dict.

    ``field`` only labels errors (a malformed IntOrString, say) so the user
    knows which part of their object is at fault.
    """
    value = _message(message, field)
    if not isinstance(value, dict):
        raise SpecError(f"{full_name(message)} does not convert to an object", field=field)
    return value


def _message(message: Any, path: str) -> Any:
    name = full_name(message)
    special = _SPECIAL.get(name)
    if special is not None:
        return special(message, path)
    out: dict[str, Any] = {}
    for descriptor, value in message.ListFields():
        key = descriptor.json_name or descriptor.name
        child = f"{path}.{key}"
        converted = _field(descriptor, value, child)
        if (name, descriptor.name) in _INLINE and isinstance(converted, dict):
            out.update(converted)
        else:
            out[key] = converted
    return out


def _field(descriptor: Any, value: Any, path: str) -> Any:
    # protobuf >= 7 (flyteidl's) dropped ``label``; ``is_repeated`` replaces it.
    repeated = getattr(descriptor, "is_repeated", None)
    if repeated if repeated is not None else descriptor.label == _LABEL_REPEATED:
        message_type = descriptor.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            value_field = message_type.fields_by_name["value"]
            return {
                str(key): _single(value_field, item, f"{path}.{key}") for key, item in value.items()
            }
        return [_single(descriptor, item, f"{path}[{index}]") for index, item in enumerate(value)]
    return _single(descriptor, value, path)


def _single(descriptor: Any, value: Any, path: str) -> Any:
    if descriptor.type == _TYPE_MESSAGE:
        return _message(value, path)
    if descriptor.type == _TYPE_BYTES:
        # Kubernetes JSON carries []byte as standard base64 (Secret.data, for one).
        return base64.b64encode(value).decode("ascii")
    if descriptor.type == _TYPE_ENUM:
        enum_value = descriptor.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    return value


def _quantity(message: Any, path: str) -> str:
    return str(message.string)


def _int_or_string(message: Any, path: str) -> int | str:
    # type 0 = Int, 1 = String (apimachinery intstr.Type). A message with no type set but
    # a strVal is treated as a string so that IntOrString(strVal="http") does what it says.
    inferred = 1 if message.HasField("strVal") else 0
    kind = int(message.type) if message.HasField("type") else inferred
    if kind == 0:
        return int(message.intVal)
    if kind == 1:
        return str(message.strVal)
    raise SpecError(f"IntOrString has unknown type {kind} (0 is int, 1 is string)", field=path)


def _time(message: Any, path: str) -> str:
    moment = datetime.datetime.fromtimestamp(int(message.seconds), tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_time(message: Any, path: str) -> str:
    moment = datetime.datetime.fromtimestamp(int(message.seconds), tz=datetime.timezone.utc)
    micros = int(message.nanos) // 1000
    return moment.replace(microsecond=micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SPECIAL = {
    "k8s.io.apimachinery.pkg.api.resource.Quantity": _quantity,
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string,
    _META + "Time": _time,
    _META + "MicroTime": _micro_time,
}

__all__ = ["ACCEPTED", "POD_SPEC", "full_name", "is_message", "message_to_json"]
