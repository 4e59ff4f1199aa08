"""Fixtures for the kubernetes engine: the test API server, and a strict schema check.

Every Pod the engine creates is checked against the Kubernetes 1.30 schema
(strict: unknown fields fail) before it is sent, whichever test created it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podtask._podspec import schema_validate_pod
from podtask._run import Runner, RunOptions, RunResult
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
    **engine_options: Any,
) -> RunResult:
    options = RunOptions(
        engine=engine or KubernetesEngine(kubeconfig=os.environ["KUBECONFIG"]),
        inputs=inputs or {},
        sidecar_mode=sidecar_mode,
        system_retries=system_retries,
        engine_options=engine_options,
    )
    return Runner(str(path), task, options).run()


def pods(srv: Any) -> list[dict[str, Any]]:
    """Every pod the server holds (in any namespace)."""
    import json
    import urllib.request

    with urllib.request.urlopen(f"{srv.url}/api/v1/pods") as response:
        return list(json.loads(response.read())["items"])
