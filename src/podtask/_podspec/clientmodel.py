"""``kubernetes.client`` models (V1PodSpec, V1Pod, ...) -> Kubernetes JSON.

The official client's own ``sanitize_for_serialization`` needs an ApiClient
and the 0.7 s ``kubernetes`` import; the models already say everything needed:
``attribute_map`` maps Python attribute names to JSON keys. Models are
duck-typed by those class attributes, which both the legacy generated classes
and the newer pydantic-based ones carry, so nothing here imports
``kubernetes``.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping
from typing import Any

from podtask._errors import SpecError

#: Client model class names accepted as a pod spec; wrappers are unwrapped by ``normalize``.
ACCEPTED = frozenset({"V1PodSpec", "V1Pod", "V1PodTemplate", "V1PodTemplateSpec"})


def is_model(obj: object) -> bool:
    """True for a generated client model (has dict ``attribute_map`` and ``openapi_types``)."""
    return isinstance(getattr(obj, "attribute_map", None), Mapping) and isinstance(
        getattr(obj, "openapi_types", None), Mapping
    )


#: Deeper than any real pod spec (about 10 levels); past it, the input is refused
#: with its path instead of exhausting Python's recursion limit.
MAX_DEPTH = 100


def to_json(value: Any, *, field: str, _depth: int = 0) -> Any:
    """Convert a model (or a list/dict/scalar that may contain models) to JSON values.

    ``None`` is dropped from objects, as the API server would treat it as unset;
    datetimes become RFC 3339 strings in UTC as ``metav1.Time`` writes them.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if _depth >= MAX_DEPTH:
        raise SpecError(
            f"nested more than {MAX_DEPTH} levels deep",
            field=field,
            hint="a pod spec is a few levels deep; check for a structure that contains itself",
        )
    depth = _depth + 1
    if is_model(value):
        out: dict[str, Any] = {}
        for attribute, key in value.attribute_map.items():
            item = getattr(value, attribute, None)
            if item is not None:
                out[str(key)] = to_json(item, field=f"{field}.{key}", _depth=depth)
        return out
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpecError(
                    f"key {key!r} is not a string; Kubernetes JSON keys are strings", field=field
                )
            if item is not None:
                result[key] = to_json(item, field=f"{field}.{key}", _depth=depth)
        return result
    if isinstance(value, (list, tuple)):
        return [
            to_json(item, field=f"{field}[{index}]", _depth=depth)
            for index, item in enumerate(value)
        ]
    if isinstance(value, datetime.datetime):
        return rfc3339(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise SpecError(
        f"{type(value).__name__} value {value!r} has no Kubernetes JSON form",
        field=field,
        hint="use str, int, float, bool, list, dict or a kubernetes.client model",
    )


def rfc3339(moment: datetime.datetime) -> str:
    """Format like Kubernetes ``metav1.Time``: UTC, ``Z`` suffix; naive times count as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["ACCEPTED", "is_model", "rfc3339", "to_json"]
