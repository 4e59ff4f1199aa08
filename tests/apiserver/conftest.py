"""One test API server for the whole module set, and a real ``kubernetes`` client on it."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from podtask.engines.local.linux import namespaces_available

kubernetes = pytest.importorskip("kubernetes")

from podtask.testing.apiserver import ApiServer  # noqa: E402

needs_namespaces = pytest.mark.skipif(
    namespaces_available() is not None, reason="Linux namespaces are not available here"
)


# Module scope, not session: a server's threads must be gone before other test
# packages run, since the local engine forks its pod supervisor only from a
# process with no other threads.
@pytest.fixture(scope="module")
def srv() -> Iterator[ApiServer]:
    with ApiServer.start(bookmark_interval=0.5) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_faults(srv: ApiServer) -> Iterator[None]:
    srv.faults.clear()
    yield
    srv.faults.clear()


@pytest.fixture(scope="module")
def core(srv: ApiServer) -> Any:
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(str(srv.kubeconfig_path)))


@pytest.fixture
def name() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], **extra}


def pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"suite": "apiserver"}},
        "spec": {"restartPolicy": "Never", "containers": list(containers), **spec},
    }


def wait(srv: ApiServer, name: str, cond: Callable[[dict[str, Any]], bool], timeout: float = 15):
    return srv.wait_for_pod("default", name, lambda p: p is not None and cond(p), timeout)


def phase(p: dict[str, Any] | None) -> str | None:
    return None if p is None else p["status"].get("phase")


def cstatus(p: dict[str, Any], container: str) -> dict[str, Any]:
    st = p["status"]
    return next(
        s
        for s in [*(st.get("initContainerStatuses") or []), *st.get("containerStatuses", [])]
        if s["name"] == container
    )


def call(
    srv: ApiServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """One raw request, as curl or a browser would send it (http.client sets Host itself)."""
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10, context=srv.ssl_context)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else {}
    finally:
        conn.close()
