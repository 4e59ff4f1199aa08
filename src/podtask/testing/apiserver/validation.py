"""What the API server does to a Pod before storing it: validate, then default.

Validation returns every problem at once as 422 causes worded like
Kubernetes' ``field.ErrorList`` (``metadata.name: Invalid value: ...``), and,
when ``kubernetes-validate`` is installed, checks the object against the
bundled schema of the server's version. Unknown fields follow the
``fieldValidation`` query parameter as a real server does: ``Strict`` is a
400, ``Warn`` (the default) a ``Warning`` header, ``Ignore`` nothing.
Defaulting fills what a real server and its admission plugins fill, so a
client that reads back its pod sees the same shape as on a cluster.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from podtask._contract import DEFAULT_GRACE
from podtask._errors import SpecError
from podtask._podspec.quantity import parse_quantity
from podtask.testing.apiserver.errors import ApiError, bad_request, invalid
from podtask.testing.apiserver.podstatus import qos_class, ts

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName alphabet
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used"
    " for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and"
    " must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex"
    " used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)

Cause = tuple[str, str, str]  # field, reason, message


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(_SUBDOMAIN.match(name))


def generate_name(prefix: str) -> str:
    """``metadata.generateName`` plus five random characters, as the apiserver makes them."""
    return prefix + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


FALLBACK_VERSION = "v1.36.2"  # the real cluster the differential record was taken from


def default_version() -> str:
    """The Kubernetes version emulated unless told: the newest whose schema
    ``kubernetes-validate`` bundles (so created pods are checked against it),
    else the version the real-cluster record was taken from."""
    try:
        import kubernetes_validate
    except ImportError:
        return FALLBACK_VERSION
    return "v" + str(kubernetes_validate.latest_version())


QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


def version_at_least(k8s_version: str, minor: int) -> bool:
    parts = k8s_version.lstrip("v").split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (1, minor)
    except (IndexError, ValueError):
        return True


def check_quantities(spec: dict[str, Any]) -> None:
    """A quantity that does not parse fails decoding, before validation: 400, as the server."""
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    values = [
        v
        for c in containers
        if isinstance(c, dict)
        for section in ("limits", "requests")
        for v in ((c.get("resources") or {}).get(section) or {}).values()
    ]
    values += [
        (v.get("emptyDir") or {}).get("sizeLimit")
        for v in spec.get("volumes") or []
        if isinstance(v, dict) and (v.get("emptyDir") or {}).get("sizeLimit") is not None
    ]
    for value in values:
        try:
            parse_quantity(value, field="", allow_negative=True)
        except SpecError:
            raise bad_request(
                'Pod in version "v1" cannot be handled as a Pod: quantities must match the'
                f" regular expression '{QUANTITY_PATTERN}'"
            ) from None


def _check_resources(c: dict[str, Any], where: str, causes: list[Cause]) -> None:
    res = c.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    for resource in ("cpu", "memory", "ephemeral-storage"):
        if resource not in limits or resource not in requests:
            continue
        limit = parse_quantity(limits[resource], field="", allow_negative=True)
        request = parse_quantity(requests[resource], field="", allow_negative=True)
        if request > limit:
            causes.append(
                (
                    f"{where}.resources.requests",
                    "FieldValueInvalid",
                    f'Invalid value: "{requests[resource]}": must be less than or equal to'
                    f" {resource} limit of {limits[resource]}",
                )
            )


def _check_ports_and_mounts(
    c: dict[str, Any], where: str, volumes: set[str], causes: list[Cause]
) -> None:
    for j, port in enumerate(c.get("ports") or []):
        for key in ("containerPort", "hostPort"):
            value = port.get(key) if isinstance(port, dict) else None
            if value is None or (key == "hostPort" and value == 0):
                continue
            if not isinstance(value, int) or not 1 <= value <= 65535:
                causes.append(
                    (
                        f"{where}.ports[{j}].{key}",
                        "FieldValueInvalid",
                        f"Invalid value: {value}: must be between 1 and 65535, inclusive",
                    )
                )
    for j, mount in enumerate(c.get("volumeMounts") or []):
        name = mount.get("name") if isinstance(mount, dict) else None
        if name and name not in volumes:
            causes.append(
                (f"{where}.volumeMounts[{j}].name", "FieldValueNotFound", f'Not found: "{name}"')
            )


def _check_containers(spec: dict[str, Any], causes: list[Cause], k8s_version: str) -> None:
    seen: set[str] = set()
    volumes = {str(v.get("name")) for v in spec.get("volumes") or [] if isinstance(v, dict)}
    restart_rules = version_at_least(k8s_version, 35)  # ContainerRestartRules, on since 1.35
    for key in ("containers", "initContainers"):  # the server checks init names second
        items = spec.get(key) or []
        if not isinstance(items, list):
            causes.append((f"spec.{key}", "FieldValueInvalid", "Invalid value: must be a list"))
            continue
        for i, c in enumerate(items):
            where = f"spec.{key}[{i}]"
            if not isinstance(c, dict):
                causes.append((where, "FieldValueInvalid", "Invalid value: must be an object"))
                continue
            name = c.get("name")
            if not name:
                causes.append((f"{where}.name", "FieldValueRequired", "Required value"))
            elif not isinstance(name, str) or len(name) > 63 or not _LABEL.match(name):
                causes.append(
                    (f"{where}.name", "FieldValueInvalid", f'Invalid value: "{name}": {LABEL_MSG}')
                )
            elif name in seen:
                causes.append(
                    (f"{where}.name", "FieldValueDuplicate", f'Duplicate value: "{name}"')
                )
            else:
                seen.add(name)
            if not c.get("image"):
                causes.append((f"{where}.image", "FieldValueRequired", "Required value"))
            pull = c.get("imagePullPolicy")
            if pull is not None and pull not in ("Always", "IfNotPresent", "Never"):
                causes.append(
                    (
                        f"{where}.imagePullPolicy",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{pull}": supported values: "Always",'
                        ' "IfNotPresent", "Never"',
                    )
                )
            _check_ports_and_mounts(c, where, volumes, causes)
            _check_resources(c, where, causes)
            policy = c.get("restartPolicy")
            if restart_rules and policy not in (None, "Always", "OnFailure", "Never"):
                causes.append(
                    (
                        f"{where}.restartPolicy",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{policy}": supported values: "Always",'
                        ' "OnFailure", "Never"',
                    )
                )
            elif (
                not restart_rules
                and policy is not None
                and (key == "containers" or policy != "Always")
            ):
                causes.append(
                    (
                        f"{where}.restartPolicy",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{policy}": supported values: "Always"'
                        if key == "initContainers"
                        else "Forbidden: may not be set for non-init containers",
                    )
                )


def object_meta(obj: Any, kind: str, namespace: str) -> tuple[dict[str, Any], str, list[Cause]]:
    """What every create checks first: the body's kind, apiVersion and namespace (400 when
    they cannot be this object), and its name (422 causes); ``generateName`` resolved."""
    if not isinstance(obj, dict):
        raise bad_request("the body of the request was in an unknown format")
    sent_kind, api = obj.get("kind"), obj.get("apiVersion")
    if api not in (None, "v1"):
        raise bad_request(
            f"the API version in the data ({api}) does not match the expected API version (v1)"
        )
    if sent_kind not in (None, kind):
        raise bad_request(
            f'{sent_kind} in version "v1" cannot be handled as a {kind}: converting'
            f" (v1.{sent_kind}) to (core.{kind}): unknown conversion"
        )
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("the body of the request was in an unknown format: metadata")
    if meta.get("namespace") not in (None, "", namespace):
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    name = meta.get("name") or ""
    if not name and meta.get("generateName"):
        name = generate_name(str(meta["generateName"]))
        meta["name"] = name
    causes: list[Cause] = []
    where = "metadata.name"
    if not name:
        required = "Required value: name or generateName is required"
        causes.append((where, "FieldValueRequired", required))
    elif isinstance(name, str) and len(name) > 253:
        too_long = f'Invalid value: "{name}": must be no more than 253 characters'
        causes.append((where, "FieldValueInvalid", too_long))
    elif not isinstance(name, str) or not is_subdomain(name):
        causes.append((where, "FieldValueInvalid", f'Invalid value: "{name}": {SUBDOMAIN_MSG}'))
    return obj, str(name), causes


def validate_pod(
    obj: Any, namespace: str, *, k8s_version: str, schema: bool, field_validation: str
) -> tuple[dict[str, Any], list[str]]:
    """Check a Pod sent to ``create``; returns it (names resolved) and the warnings."""
    obj, name, causes = object_meta(obj, "Pod", namespace)
    warnings: list[str] = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        causes.append(("spec", "FieldValueRequired", "Required value"))
        spec = {}
    if not spec.get("containers"):
        causes.append(("spec.containers", "FieldValueRequired", "Required value"))
    check_quantities(spec)
    _check_containers(spec, causes, k8s_version)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in ("Always", "OnFailure", "Never"):
        causes.append(
            (
                "spec.restartPolicy",
                "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Always", "OnFailure", "Never"',
            )
        )
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and (not isinstance(deadline, int) or deadline <= 0):
        causes.append(
            (
                "spec.activeDeadlineSeconds",
                "FieldValueInvalid",
                f"Invalid value: {deadline}: must be between 1 and 2147483647, inclusive",
            )
        )
    if causes:
        raise invalid("Pod", str(name), causes)
    if schema:
        warnings.extend(_schema(obj, k8s_version, field_validation))
    return obj, warnings


# Fields whose wrong JSON type Go's decoder refuses (400) before validation: path with
# indices dropped -> (the Go struct holding it, its Go type).
GO_FIELDS = {
    "spec.containers.command": ("Container", "[]string"),
    "spec.containers.args": ("Container", "[]string"),
    "spec.containers.name": ("Container", "string"),
    "spec.containers.image": ("Container", "string"),
    "spec.containers.env": ("Container", "[]v1.EnvVar"),
    "spec.containers.ports": ("Container", "[]v1.ContainerPort"),
    "spec.containers.volumeMounts": ("Container", "[]v1.VolumeMount"),
    "spec.containers.ports.containerPort": ("ContainerPort", "int32"),
    "spec.activeDeadlineSeconds": ("PodSpec", "int64"),
    "spec.terminationGracePeriodSeconds": ("PodSpec", "int64"),
    "spec.containers": ("PodSpec", "[]v1.Container"),
    "metadata.labels": ("ObjectMeta", "map[string]string"),
    "metadata.annotations": ("ObjectMeta", "map[string]string"),
}
_JSON_KIND = (
    (bool, "bool"),
    (str, "string"),
    ((int, float), "number"),
    (dict, "object"),
    (list, "array"),
)


def _decode_error(obj: dict[str, Any], field: str, reason: str) -> str | None:
    """Go's decoding error for a value of the wrong JSON type, or None if it is not one."""
    if "is not of type" not in reason:
        return None
    path = re.sub(r"\[\d+\]", "", field).replace("initContainers", "containers")
    if path not in GO_FIELDS:
        return None
    value: Any = obj
    for part in re.findall(r"[^.\[\]]+", field):
        value = value[int(part)] if isinstance(value, list) else value.get(part)
    kind = next((name for types, name in _JSON_KIND if isinstance(value, types)), "null")
    struct, go_type = GO_FIELDS[path]
    return (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal'
        f" {kind} into Go struct field {struct}.{path} of type {go_type}"
    )


def _schema(obj: dict[str, Any], k8s_version: str, field_validation: str) -> list[str]:
    from podtask._podspec import schema_validate_pod

    manifest = {**obj, "apiVersion": "v1", "kind": "Pod"}
    manifest.pop("status", None)
    meta = dict(manifest.get("metadata") or {})
    for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
        meta.pop(key, None)
    manifest["metadata"] = meta
    try:
        schema_validate_pod(manifest, k8s_version=k8s_version.lstrip("v"))
    except SpecError as exc:
        if exc.reason.startswith("unknown field"):
            if field_validation == "Strict":
                raise bad_request(
                    'Pod in version "v1" cannot be handled as a Pod: strict decoding error:'
                    f' unknown field "{exc.field}"'
                ) from exc
            if field_validation == "Ignore":
                return []
            return [f'unknown field "{exc.field}"']
        if exc.field and exc.field.startswith("k8s_version"):
            return []  # no schema bundled for this version: skip, as without the package
        decode = _decode_error(obj, exc.field or "", exc.reason)
        if decode is not None:
            raise bad_request(decode) from exc
        raise invalid(
            "Pod",
            str(obj["metadata"].get("name", "")),
            [(exc.field or "", "FieldValueInvalid", f"Invalid value: {exc.reason}")],
        ) from exc
    return []


def _image_pull_policy(image: str) -> str:
    tail = image.rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    return "Always" if ":" not in tail or tail.endswith(":latest") else "IfNotPresent"


def apply_defaults(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Fill the fields a real server sets on create (uid, times, spec defaults, Pending)."""
    meta = obj["metadata"]
    meta["namespace"] = namespace
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = ts()
    for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
        meta.pop(key, None)
    spec = obj["spec"]
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", int(DEFAULT_GRACE))
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    for c in [*(spec.get("initContainers") or []), *spec["containers"]]:
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("imagePullPolicy", _image_pull_policy(str(c.get("image", ""))))
        c.setdefault("resources", {})
    obj["apiVersion"], obj["kind"] = "v1", "Pod"
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
    return obj


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (also used for strategic merge patches of maps)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def check_update(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Pods are mostly immutable: only labels, annotations and a few spec fields may change."""
    name = str(old["metadata"]["name"])
    if not isinstance(new.get("metadata"), dict) or not isinstance(new.get("spec"), dict):
        raise ApiError(400, "BadRequest", "the patched object is not a Pod")
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if new["metadata"].get(key) != old["metadata"].get(key):
            raise invalid(
                "Pod",
                name,
                [(f"metadata.{key}", "FieldValueInvalid", "Invalid value: field is immutable")],
            )
    mutable = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")
    a = {k: v for k, v in old["spec"].items() if k not in mutable}
    b = {k: v for k, v in new["spec"].items() if k not in mutable}
    if a != b:
        raise invalid(
            "Pod",
            name,
            [
                (
                    "spec",
                    "FieldValueForbidden",
                    "Forbidden: pod updates may not change fields other than"
                    " `spec.containers[*].image`,`spec.initContainers[*].image`,"
                    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing"
                    " tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1"
                    " if it was previously negative)",
                )
            ],
        )
