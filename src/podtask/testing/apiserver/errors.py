"""``metav1.Status`` bodies, shaped exactly as a real API server sends them.

Clients branch on ``code`` and ``reason`` (``AlreadyExists``, ``Expired``, ...)
and print ``message``, so each builder here reproduces Kubernetes' wording;
an engine tested against this server then handles a real cluster's errors.
"""

from __future__ import annotations

from typing import Any


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    """Raised by request handling; the server answers with ``body`` and ``code``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, reason, message, details)
        self.headers = headers or {}


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource}
    )


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{resource} "{name}" already exists',
        {"name": name, "kind": resource},
    )


def conflict(resource: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {resource} "{name}": {why}',
        {"name": name, "kind": resource},
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({method})",
    )


def gone(requested: int, oldest: int) -> ApiError:
    """What a watch from a compacted resourceVersion gets (as an ERROR event, code 410)."""
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def internal(message: str) -> ApiError:
    return ApiError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


def forbidden(
    user: str, verb: str, resource: str, namespace: str | None, name: str | None
) -> ApiError:
    """The RBAC authorizer's words, e.g. ``pods "x" is forbidden: User "u" cannot get ...``."""
    group = resource.partition("/")[0]
    shown = f'{group} "{name}"' if name else group
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    details: dict[str, Any] = {"kind": group}
    if name:
        details["name"] = name
    return ApiError(
        403,
        "Forbidden",
        f'{shown} is forbidden: User "{user}" cannot {verb} resource "{resource}"'
        f' in API group "" {scope}',
        details,
    )


def invalid(kind: str, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 with one cause per (field, reason, message), worded like field.ErrorList."""
    texts = [f"{f}: {m}" if f else m for f, _r, m in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict[str, Any] = {"name": name} if name else {}
    details["kind"] = kind
    details["causes"] = [{"reason": r, "message": m, "field": f} for f, r, m in causes]
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {joined}', details)


def expired(message: str) -> ApiError:
    """410 for a list at (or a continue token from) a compacted resourceVersion."""
    return ApiError(410, "Expired", message)


def too_large_rv(requested: int, current: int) -> ApiError:
    """504 for a resourceVersion the server has not reached (after waiting ~3 s for it)."""
    return ApiError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {requested}, current: {current}",
        {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
    )


def bad_rv(text: str) -> ApiError:
    return bad_request(
        f'invalid resource version: resourceVersion: Invalid value: "{text}":'
        f' strconv.ParseUint: parsing "{text}": invalid syntax'
    )


def invalid_list_options(field: str, reason: str, message: str) -> ApiError:
    return ApiError(
        422,
        "Invalid",
        f'ListOptions.meta.k8s.io "" is invalid: {field}: {message}',
        {
            "group": "meta.k8s.io",
            "kind": "ListOptions",
            "causes": [{"reason": reason, "message": message, "field": field}],
        },
    )


def precondition_failed(kind: str, name: str, what: str, wanted: str, actual: str) -> ApiError:
    """409 for a delete whose ``preconditions`` (uid or resourceVersion) do not hold."""
    tail = (
        "The object might have been deleted and then recreated"
        if what == "UID"
        else "The object might have been modified"
    )
    return conflict(
        kind,
        name,
        f"the {what} in the precondition ({wanted}) does not match the {what} in record"
        f" ({actual}). {tail}",
    )
