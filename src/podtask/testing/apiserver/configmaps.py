"""ConfigMaps: what the API server checks and fills on create, as Kubernetes does.

podtask's kubernetes engine can carry a run's code and inputs to the pod in a
ConfigMap mounted as a volume, so this server must hold them as a real one
does: names are DNS subdomains, keys are config keys, ``data`` is text and
``binaryData`` base64, a key may not be in both, and the whole payload is at
most 1 MiB (``MaxSecretSize``, the same limit etcd's request size imposes
in practice), each refused with the 422 a real server sends.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

from podtask.testing.apiserver.errors import bad_request, invalid
from podtask.testing.apiserver.podstatus import ts
from podtask.testing.apiserver.validation import object_meta

MAX_SIZE = 1024 * 1024  # bytes of data + binaryData together
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g."
    " 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)

Cause = tuple[str, str, str]


def _key_causes(bag: str, key: str) -> list[Cause]:
    where = f"{bag}[{key}]"
    if len(key) > 253:
        return [
            (
                where,
                "FieldValueInvalid",
                f'Invalid value: "{key}": must be no more than 253 characters',
            )
        ]
    if not _KEY.match(key):
        return [(where, "FieldValueInvalid", f'Invalid value: "{key}": {KEY_MSG}')]
    if key in (".", "..") or key.startswith(".."):
        return [(where, "FieldValueInvalid", f"Invalid value: \"{key}\": must not start with '..'")]
    return []


def _owner_causes(meta: dict[str, Any]) -> list[Cause]:
    """An owner reference names its owner fully, as the garbage collector needs."""
    causes: list[Cause] = []
    refs = meta.get("ownerReferences") or []
    if not isinstance(refs, list):
        raise bad_request("ObjectMeta.ownerReferences: expected a list")
    for ref in refs:
        ref = ref if isinstance(ref, dict) else {}
        for key, word in (("apiVersion", "version"), ("kind", "kind"), ("name", "name")):
            if not ref.get(key):
                where = f"metadata.ownerReferences.{key}"
                causes.append(
                    (where, "FieldValueInvalid", f'Invalid value: "": {word} must not be empty')
                )
        if not ref.get("uid"):
            where = "metadata.ownerReferences.uid"
            causes.append((where, "FieldValueInvalid", 'Invalid value: "": uid must not be empty'))
    if sum(1 for r in refs if isinstance(r, dict) and r.get("controller")) > 1:
        causes.append(
            (
                "metadata.ownerReferences",
                "FieldValueInvalid",
                "Invalid value: []v1.OwnerReference{...}: Only one reference can have Controller"
                " set to true",
            )
        )
    return causes


def validate(body: Any, namespace: str) -> dict[str, Any]:
    """Check a ConfigMap sent to ``create`` and fill what the server sets; 400/422 otherwise."""
    obj, name, causes = object_meta(body, "ConfigMap", namespace)
    meta: dict[str, Any] = obj["metadata"]
    causes.extend(_payload_causes(obj))
    causes.extend(_owner_causes(meta))
    if causes:
        raise invalid("ConfigMap", str(name), causes)
    obj["apiVersion"], obj["kind"] = "v1", "ConfigMap"
    meta["namespace"] = namespace
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = ts()
    for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
        meta.pop(key, None)
    return obj


def validate_update(old: dict[str, Any], new: Any, namespace: str) -> dict[str, Any]:
    """Check a ConfigMap after a patch or update (PUT); what the server owns stays as it was."""
    name = str(old["metadata"]["name"])
    if isinstance(new, dict) and (new.get("metadata") or {}).get("name") not in (None, name):
        sent = new["metadata"]["name"]
        raise bad_request(
            f"the name of the object ({sent}) does not match the name on the URL ({name})"
        )
    obj, _name, causes = object_meta(new, "ConfigMap", namespace)
    meta: dict[str, Any] = obj["metadata"]
    for key in ("uid", "creationTimestamp", "namespace", "resourceVersion"):
        if key in old["metadata"]:
            meta[key] = old["metadata"][key]
    meta["name"] = name
    causes.extend(_payload_causes(obj))
    causes.extend(_owner_causes(meta))
    if old.get("immutable"):
        locked = "Forbidden: field is immutable when `immutable` is set"
        for key in ("data", "binaryData"):
            if (obj.get(key) or {}) != (old.get(key) or {}):
                causes.append((key, "FieldValueForbidden", locked))
        if not obj.get("immutable"):
            causes.append(("immutable", "FieldValueForbidden", locked))
    if causes:
        raise invalid("ConfigMap", name, causes)
    obj["apiVersion"], obj["kind"] = "v1", "ConfigMap"
    return obj


def _payload_causes(obj: dict[str, Any]) -> list[Cause]:
    """The keys and size of ``data`` and ``binaryData``; 400 for values of the wrong type."""
    causes: list[Cause] = []
    data = obj.get("data") or {}
    binary = obj.get("binaryData") or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise bad_request("ConfigMap.data: the values of data must be strings")
    if not isinstance(binary, dict) or not all(isinstance(v, str) for v in binary.values()):
        raise bad_request("ConfigMap.binaryData: the values of binaryData must be base64 strings")
    size = 0
    for key, value in data.items():
        causes.extend(_key_causes("data", key))
        if key in binary:
            causes.append(
                (
                    f"data[{key}]",
                    "FieldValueInvalid",
                    f'Invalid value: "{key}": duplicate of key present in binaryData',
                )
            )
        size += len(value.encode())
    for key, value in binary.items():
        causes.extend(_key_causes("binaryData", key))
        try:
            size += len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise bad_request(
                f"ConfigMap.binaryData: illegal base64 data for key {key!r}: {exc}"
            ) from exc
    if size > MAX_SIZE:
        causes.append(("", "FieldValueTooLong", f"Too long: may not be more than {MAX_SIZE} bytes"))
    return causes


def files(cm: dict[str, Any]) -> dict[str, bytes]:
    """The ConfigMap's keys as the bytes a configMap volume holds for them."""
    out = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    return out
