"""The same raw requests to any API server, answers reduced to what can be compared.

Uses the official client's configuration (TLS, token or client certificate
from the kubeconfig) but sends raw requests, so the real server and the test
server see exactly the same bytes. ``summary`` reduces an answer to the
shape of the differential record: the ``Status`` fields, or kind and name,
or the names in a list; ``normalize`` replaces what differs between any two
servers by nature (uids, resourceVersions, times, generated names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RV_MESSAGES = (
    (re.compile(r"current: \d+"), "current: <rv>"),
    (re.compile(r"too old resource version: \d+ \(\d+\)"), "too old resource version: <rv> (<rv>)"),
    (re.compile(r"Too large resource version: \d+"), "Too large resource version: <rv>"),
)


@dataclass
class Answer:
    code: int
    body: Any  # parsed JSON, or text
    headers: dict[str, str]


class Api:
    """Raw requests through a kubeconfig's credentials."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import config

        self.client = config.new_client_from_config(kubeconfig)

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        params = self.client.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params=sent,
            body=body,
            auth_settings=["BearerToken"],
        )
        resp = self.client.call_api(*params[:4], _request_timeout=60)
        raw = resp.read() or b""
        got = {k: v for k, v in resp.getheaders().items()}
        ctype = got.get("Content-Type", got.get("content-type", ""))
        text = raw.decode("utf-8", "replace")
        parsed: Any = text
        if "json" in ctype and text.strip():
            lines = text.strip().splitlines()
            try:
                parsed = json.loads(text) if len(lines) == 1 else [json.loads(x) for x in lines]
            except ValueError:
                parsed = text
        return Answer(resp.status, parsed, got)


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        value = _UID.sub("<uid>", value)
        for pattern, repl in _RV_MESSAGES:
            value = pattern.sub(repl, value)
    return value


def status_summary(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("kind", "apiVersion", "metadata")}


def summary(answer: Answer, *, warning: bool = False) -> dict[str, Any]:
    """The record's shape: Status fields, or ``kind``/``name``, or list ``names``."""
    body = answer.body
    out: dict[str, Any] = {}
    if warning:
        out["Warning"] = answer.headers.get("Warning")
    out["code"] = answer.code
    if isinstance(body, dict) and body.get("kind") == "Status":
        out.update(status_summary(body))
    elif isinstance(body, dict) and "items" in body:
        meta = dict(body.get("metadata") or {})
        meta["resourceVersion"] = "<rv>"
        if meta.get("continue"):
            meta["continue"] = "<continue>"
        out["metadata"] = meta
        out["names"] = [i["metadata"]["name"] for i in body["items"]]
    elif isinstance(body, dict):
        out["kind"] = body.get("kind")
        out["name"] = (body.get("metadata") or {}).get("name")
    else:
        out["body"] = body
    return normalize(out)
