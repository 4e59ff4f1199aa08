"""Fixtures for the kubernetes engine: the test API server, and a strict schema check.

Every Pod the engine creates is checked against the Kubernetes 1.30 schema
(strict: unknown fields fail) before it is sent, whichever test created it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podtask._podspec import schema_validate_pod
from podtask._run import KubernetesOptions, Runner, RunOptions, RunResult
from podtask.engines.kubernetes.engine import KubernetesEngine

HERE = Path(__file__).parent
TASKS = HERE / "tasks" / "k8s_tasks.py"
SEED = HERE.parent.parent / "examples" / "seed_working_example.py"
CREATED: list[dict[str, Any]] = []

try:
    from podtask.testing.apiserver import ApiServer
except ImportError:  # pragma: no cover - the server is built alongside
    ApiServer = None  # type: ignore[assignment,misc]

needs_server = pytest.mark.skipif(ApiServer is None, reason="podtask.testing.apiserver missing")


@pytest.fixture(autouse=True)
def strict_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    original = KubernetesEngine._create
    created: list[dict[str, Any]] = []

    def checked(self: KubernetesEngine, attempt: Any, manifest: dict[str, Any], ctx: Any) -> Any:
        assert schema_validate_pod(manifest, k8s_version="1.30.0") is True
        created.append(manifest)
        return original(self, attempt, manifest, ctx)

    monkeypatch.setattr(KubernetesEngine, "_create", checked)
    yield created


def _server(version: str) -> Iterator[Any]:
    if ApiServer is None:
        pytest.skip("podtask.testing.apiserver missing")
    with ApiServer.start(version=version) as srv:
        yield srv


@pytest.fixture(scope="module")
def server_130() -> Iterator[Any]:
    yield from _server("v1.30.0")


@pytest.fixture(scope="module")
def server_128() -> Iterator[Any]:
    yield from _server("v1.28.0")


@pytest.fixture
def srv(server_130: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    server_130.faults.clear()
    monkeypatch.setenv("KUBECONFIG", str(server_130.kubeconfig_path))
    yield server_130
    server_130.faults.clear()


@pytest.fixture
def old_srv(server_128: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    server_128.faults.clear()
    monkeypatch.setenv("KUBECONFIG", str(server_128.kubeconfig_path))
    yield server_128


def run(
    path: Path,
    task: str,
    *,
    inputs: dict[str, Any] | None = None,
    sidecar_mode: str | None = None,
    engine: KubernetesEngine | None = None,
    system_retries: int = 3,
    detach: bool = False,
    **engine_options: Any,
) -> RunResult:
    options = RunOptions(
        engine=engine or KubernetesEngine(kubeconfig=os.environ["KUBECONFIG"]),
        inputs=inputs or {},
        sidecar_mode=sidecar_mode,
        system_retries=system_retries,
        engine_options=KubernetesOptions(**engine_options),
        detach=detach,
    )
    return Runner(str(path), task, options).run()


def pods(srv: Any) -> list[dict[str, Any]]:
    """Every pod the server holds (in any namespace)."""
    import json
    import urllib.request

    request = urllib.request.Request(f"{srv.url}/api/v1/pods", headers=srv.auth_headers)
    with urllib.request.urlopen(request, context=srv.ssl_context) as response:
        return list(json.loads(response.read())["items"])


def configmaps(srv: Any) -> list[dict[str, Any]]:
    """Every ConfigMap of podtask's runs the server holds (in any namespace; the cluster's
    own, such as kube-root-ca.crt, are not podtask's)."""
    import json
    import urllib.request

    url = f"{srv.url}/api/v1/configmaps?labelSelector=podtask.io/run-id"
    request = urllib.request.Request(url, headers=srv.auth_headers)
    with urllib.request.urlopen(request, context=srv.ssl_context) as response:
        return list(json.loads(response.read())["items"])


@pytest.fixture(autouse=True)
def no_pod_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every run deletes its pod before it returns: a pod left after a test is that test's
    failure, named here, and removed so that it cannot fail the tests after it."""
    servers = {
        name: request.getfixturevalue(name)
        for name in ("srv", "old_srv")
        if name in request.fixturenames
    }
    yield
    for name, server in servers.items():
        left = pods(server)
        for pod in left:
            meta = pod["metadata"]
            server.faults.delete_pod(meta["namespace"], meta["name"], 0)
        assert [p["metadata"]["name"] for p in left] == [], f"pods left on {name}"


def when_running(srv: Any, action: Any) -> threading.Thread:
    """Run ``action(pod)`` once a pod's primary is running (the state a fault interrupts)."""

    def wait() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for pod in pods(srv):
                statuses = pod.get("status", {}).get("containerStatuses") or []
                if any(
                    s.get("name") == "primary" and "running" in s.get("state", {}) for s in statuses
                ):
                    action(pod)
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=wait)
    thread.start()
    return thread


def describe(run_id: str) -> str:
    """``podtask describe RUN_ID`` as a user runs it; its output."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "podtask", "describe", run_id],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
