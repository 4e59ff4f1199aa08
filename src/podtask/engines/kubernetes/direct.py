"""The API server over urllib3 alone, for a kubeconfig entry that is only a server, a CA
and a bearer token.

Why: the first import of anything in the official ``kubernetes`` package runs
its ``__init__``, which loads the config loaders (OAuth, dateutil, Google
auth hooks), the dynamic client, the websocket stream, the watch helpers and
pydantic: about 0.25 s per podtask process on a 2-core machine, half of a raw
``kubectl`` create/wait/logs/delete cycle.  The plainest kubeconfig, the one
podtask's test API server writes and many CI clusters and service-account
kubeconfigs use, needs none of it.

Only that plain form is read here.  Any other key of the context's cluster or
user (exec plugins, auth providers, client certificates, token files, proxies,
``tls-server-name``...) or anything unexpected in the file makes
``plain_entry`` answer None, and the official loader, which knows them all and
says what is wrong with a broken file, is used instead (``client._connect``).
The requests and answers are the same either way: ``CoreCalls`` builds them,
and both transports hand back the raw ``urllib3`` response.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

#: The keys this module understands; any other sends the entry to the official loader.
CLUSTER_KEYS = frozenset(
    {"server", "certificate-authority-data", "certificate-authority", "insecure-skip-tls-verify"}
)
USER_KEYS = frozenset({"token"})


@dataclass(frozen=True)
class PlainEntry:
    """One context of a kubeconfig, in the plain form (see the module)."""

    server: str
    token: str | None
    ca_pem: str | None  # certificate-authority-data, decoded
    ca_file: str | None  # certificate-authority, relative to the kubeconfig's directory
    insecure: bool
    namespace: str


def _named(items: Any, name: Any) -> dict[str, Any] | None:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def plain_entry(path: Path, context: str | None) -> PlainEntry | None:
    """The context (the current one by default) when it is plain; None otherwise."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(doc, dict):
        return None
    found = _named(doc.get("contexts"), context or doc.get("current-context"))
    ctx = (found or {}).get("context")
    if not isinstance(ctx, dict):
        return None
    cluster = ((_named(doc.get("clusters"), ctx.get("cluster")) or {}).get("cluster")) or None
    user = ((_named(doc.get("users"), ctx.get("user")) or {}).get("user")) or {}
    if not isinstance(cluster, dict) or not isinstance(user, dict):
        return None
    if set(cluster) - CLUSTER_KEYS or set(user) - USER_KEYS:
        return None
    server, token = cluster.get("server"), user.get("token")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        return None
    if token is not None and not isinstance(token, str):
        return None
    ca_pem = None
    if cluster.get("certificate-authority-data"):
        try:
            ca_pem = base64.b64decode(str(cluster["certificate-authority-data"])).decode()
        except (ValueError, UnicodeDecodeError):
            return None
    ca_file = cluster.get("certificate-authority")
    if ca_file:
        ca_file = str(path.parent / str(ca_file))  # an absolute path stays as it is
    namespace = ctx.get("namespace")
    return PlainEntry(
        server=server.rstrip("/"),
        token=token or None,
        ca_pem=ca_pem,
        ca_file=ca_file or None,
        insecure=cluster.get("insecure-skip-tls-verify") is True,
        namespace=namespace if isinstance(namespace, str) and namespace else "default",
    )


class ApiError(Exception):
    """A non-2xx answer; ``status``, ``reason`` and ``body`` as the official
    ``ApiException`` has them, which is all ``errors.translate`` reads."""

    def __init__(self, status: int, reason: str, body: str, headers: Any) -> None:
        super().__init__(f"({status}) Reason: {reason}")
        self.status, self.reason, self.body, self.headers = status, reason, body, headers


class DirectTransport:
    """Requests to one API server through one urllib3 pool, with the bearer token."""

    def __init__(self, entry: PlainEntry, *, pool_size: int, user_agent: str) -> None:
        import urllib3

        self.entry = entry
        tls: dict[str, Any] = {}
        if entry.server.startswith("https://"):
            if entry.insecure:
                tls["cert_reqs"] = "CERT_NONE"
            else:
                tls["cert_reqs"] = "CERT_REQUIRED"
                if entry.ca_pem:
                    tls["ca_cert_data"] = entry.ca_pem
                if entry.ca_file:
                    tls["ca_certs"] = entry.ca_file
        self.pool = urllib3.PoolManager(num_pools=4, maxsize=pool_size, **tls)
        self.headers = {"User-Agent": user_agent}
        if entry.token:
            self.headers["Authorization"] = f"Bearer {entry.token}"

    def send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]],
        body: Any,
        content_type: str,
        accept: str,
        timeout: Any,
    ) -> Any:
        import urllib3

        pairs = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query]
        url = self.entry.server + path + ("?" + urlencode(pairs) if pairs else "")
        headers = {**self.headers, "Accept": accept}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        if isinstance(timeout, tuple):
            timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        elif isinstance(timeout, (int, float)):
            timeout = urllib3.Timeout(total=timeout)
        else:
            timeout = urllib3.Timeout.DEFAULT_TIMEOUT
        response = self.pool.request(
            method, url, body=data, headers=headers, preload_content=False, timeout=timeout
        )
        if not 200 <= response.status <= 299:
            text = response.read().decode(errors="replace")
            response.release_conn()
            raise ApiError(response.status, response.reason or "", text, response.headers)
        return response


__all__ = ["ApiError", "DirectTransport", "PlainEntry", "plain_entry"]
