"""The four PATCH types of the API server, applied to a stored object's JSON.

- ``application/merge-patch+json`` (RFC 7386): maps merge, ``null`` removes,
  lists are replaced;
- ``application/strategic-merge-patch+json``: the same, except the lists
  whose Go struct declares a merge strategy: ``metadata.ownerReferences``
  merge by ``uid`` (so a client adds an owner without repeating the others),
  ``metadata.finalizers`` merge as a set, a Pod's ``containers`` and
  ``initContainers`` merge by ``name``;
- ``application/json-patch+json`` (RFC 6902): a list of ``add``,
  ``remove``, ``replace``, ``move``, ``copy`` and ``test`` operations; one
  that cannot apply is a 422, as on a real server;
- ``application/apply-patch+yaml`` (server-side apply) is taken as a merge
  patch: this server keeps no field ownership.
"""

from __future__ import annotations

import copy
from typing import Any

from podtask.testing.apiserver.errors import ApiError, bad_request

JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"

#: Lists a strategic merge patch merges by a key (None: as a set of scalars).
MERGE_KEYS: dict[tuple[str, ...], str | None] = {
    ("metadata", "ownerReferences"): "uid",
    ("metadata", "finalizers"): None,
    ("spec", "containers"): "name",
    ("spec", "initContainers"): "name",
}

REJECTED = "the server rejected our request due to an error in our request"


def apply(target: dict[str, Any], body: Any, ctype: str) -> dict[str, Any]:
    """``target`` patched by ``body`` sent as ``ctype`` (a new object; ``target`` untouched)."""
    if ctype == JSON_PATCH:
        out = json_patch(target, body)
    elif not isinstance(body, dict):
        raise bad_request("the body of the request was in an unknown format: not an object")
    else:
        out = _merge(target, body, (), strategic=ctype == STRATEGIC)
    if not isinstance(out, dict):
        raise bad_request("the patched object is not an object")
    return out


def _merge(target: Any, patch: Any, path: tuple[str, ...], *, strategic: bool) -> Any:
    if not isinstance(patch, dict):
        if strategic and path in MERGE_KEYS and isinstance(patch, list):
            return _merge_list(target if isinstance(target, list) else [], patch, MERGE_KEYS[path])
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value, (*path, key), strategic=strategic)
    return out


def _merge_list(old: list[Any], new: list[Any], key: str | None) -> list[Any]:
    out = copy.deepcopy(old)
    for item in new:
        if key is None:
            if item not in out:
                out.append(item)
            continue
        at = next(
            (
                i
                for i, o in enumerate(out)
                if isinstance(o, dict) and isinstance(item, dict) and o.get(key) == item.get(key)
            ),
            None,
        )
        if at is None:
            out.append(copy.deepcopy(item))
        else:
            out[at] = _merge(out[at], item, (), strategic=True)
    return out


# -- RFC 6902 --------------------------------------------------------------------------------
def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise ApiError(422, "Invalid", f"{REJECTED}: invalid path {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        node = _child(node, part, path)
    return node, parts[-1]


def _child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise ApiError(422, "Invalid", f"{REJECTED}: path {path!r} does not exist")


def _get(doc: Any, path: str) -> Any:
    node = doc
    for part in _pointer(path):
        node = _child(node, part, path)
    return node


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list) and (
        last == "-" or (last.isdigit() and int(last) <= len(parent))
    ):
        parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(value))
    else:
        raise ApiError(422, "Invalid", f"{REJECTED}: cannot add at {path!r}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        raise ApiError(422, "Invalid", f"{REJECTED}: cannot remove the whole object")
    parent, last = _parent(doc, parts, path)
    _child(parent, last, path)  # 422 when it is not there
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[int(last)]
    return doc


def json_patch(target: dict[str, Any], ops: Any) -> Any:
    if not isinstance(ops, list):
        raise bad_request("the body of the request was in an unknown format: not a JSON patch")
    doc: Any = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "path" not in op:
            raise bad_request(f"the body of the request was in an unknown format: {op!r}")
        kind, path = op.get("op"), op["path"]
        if kind == "add":
            doc = _add(doc, path, op.get("value"))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path), path, op.get("value"))
        elif kind in ("move", "copy"):
            source = str(op.get("from", ""))
            value = copy.deepcopy(_get(doc, source))
            if kind == "move":
                doc = _remove(doc, source)
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise ApiError(422, "Invalid", f"{REJECTED}: testing value {path!r} failed")
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    return doc


__all__ = ["JSON_PATCH", "STRATEGIC", "apply", "json_patch"]
