"""Label and field selectors, with the syntax and the errors of the API server.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``,
``a`` (exists) and ``!a`` (does not exist), comma-separated (ANDed). Field
selectors, per resource as the API server registers them: ``metadata.name``
and ``metadata.namespace`` everywhere; for pods also ``status.phase``,
``spec.nodeName``, ``spec.restartPolicy``; for events ``involvedObject.*``,
``reason``, ``type``, ``source``, ``reportingComponent``; with ``=``, ``==``
or ``!=``. A bad selector, or a field another resource has, is a 400, as on a
real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from podtask.testing.apiserver.errors import ApiError, bad_request

Matcher = Callable[[dict[str, Any]], bool]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s+\(([^)]*)\)$")
_CMP = re.compile(rf"^({_KEY})\s*(==|!=|=)\s*([-A-Za-z0-9_.]*)$")
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")

Getter = Callable[[dict[str, Any]], str]


def _at(*path: str) -> Getter:
    def get(o: dict[str, Any]) -> str:
        value: Any = o
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return "" if value is None else str(value)

    return get


_META: dict[str, Getter] = {
    "metadata.name": _at("metadata", "name"),
    "metadata.namespace": _at("metadata", "namespace"),
}
FIELDS: dict[str, Getter] = {  # pods
    **_META,
    "status.phase": _at("status", "phase"),
    "spec.nodeName": _at("spec", "nodeName"),
    "spec.restartPolicy": _at("spec", "restartPolicy"),
}
EVENT_FIELDS: dict[str, Getter] = {
    **_META,
    **{
        f"involvedObject.{k}": _at("involvedObject", k)
        for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    },
    "reason": _at("reason"),
    "reportingComponent": _at("reportingComponent"),
    "source": _at("source", "component"),
    "type": _at("type"),
}
FIELDS_OF: dict[str, dict[str, Getter]] = {"pods": FIELDS, "events": EVENT_FIELDS}


def _split(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _label_term(term: str) -> Matcher:
    if m := _SET.match(term):
        key, op = m.group(1), m.group(3)
        values = {v.strip() for v in m.group(4).split(",") if v.strip()}
        if op == "in":
            return lambda o: _labels(o).get(key) in values
        return lambda o: _labels(o).get(key) not in values
    if m := _CMP.match(term):
        key, op, value = m.group(1), m.group(3), m.group(4)
        if op == "!=":
            return lambda o: _labels(o).get(key) != value
        return lambda o: _labels(o).get(key) == value
    if m := _EXISTS.match(term):
        neg, key = m.group(1) == "!", m.group(2)
        if neg:
            return lambda o: key not in _labels(o)
        return lambda o: key in _labels(o)
    raise bad_request(f"unable to parse requirement: found '{term}', expected: valid selector")


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels = obj.get("metadata", {}).get("labels") or {}
    return labels if isinstance(labels, dict) else {}


def label_selector(text: str | None) -> Matcher:
    if not text:
        return lambda _o: True
    terms = [_label_term(t) for t in _split(text)]
    return lambda o: all(t(o) for t in terms)


def field_selector(text: str | None, resource: str = "pods") -> Matcher:
    if not text:
        return lambda _o: True
    terms: list[Matcher] = []
    for part in _split(text):
        m = re.match(r"^([A-Za-z.]+)\s*(==|!=|=)\s*(.*)$", part)
        if m is None:
            raise bad_request(f"invalid selector: '{part}'; can't understand '{part}'")
        key, op, value = m.group(1), m.group(2), m.group(3)
        getter = FIELDS_OF.get(resource, _META).get(key)
        if getter is None:
            raise ApiError(400, "BadRequest", f"field label not supported: {key}")
        terms.append(_field_term(getter, value, negate=op == "!="))
    return lambda o: all(t(o) for t in terms)


def _field_term(getter: Getter, value: str, *, negate: bool) -> Matcher:
    if negate:
        return lambda o: getter(o) != value
    return lambda o: getter(o) == value


def selector(label: str | None, field: str | None, resource: str = "pods") -> Matcher:
    labels, fields = label_selector(label), field_selector(field, resource)
    return lambda o: labels(o) and fields(o)
