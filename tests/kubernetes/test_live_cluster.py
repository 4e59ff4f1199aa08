"""Against a real cluster: ``PODTASK_TEST_KUBECONFIG=FILE pytest -m cluster tests/kubernetes``.

Optional: ``PODTASK_IMAGE`` (an image with ``podtask[kubernetes,k8s-proto]`` the nodes have;
default ``localhost/podtask-python:latest``, e.g. loaded with ``kind load``) and
``PODTASK_TEST_STORAGE`` (a URL the pods can reach).  Without storage the runs use the
API-only transport (a ConfigMap in, the termination message out), which is what a kind
user without an object store gets.  Nothing in this file needs editing to point it at
another cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from podtask.engines.kubernetes.engine import KubernetesEngine
from tests.kubernetes.conftest import SEED, TASKS, run

KUBECONFIG = os.environ.get("PODTASK_TEST_KUBECONFIG")
STORAGE = os.environ.get("PODTASK_TEST_STORAGE")

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.slow,
    pytest.mark.skipif(not KUBECONFIG, reason="PODTASK_TEST_KUBECONFIG is not set"),
]


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The engine and options for the cluster; afterwards, nothing of podtask's is left."""
    assert KUBECONFIG
    monkeypatch.setenv("KUBECONFIG", KUBECONFIG)
    options: dict[str, Any] = {"engine": KubernetesEngine(kubeconfig=KUBECONFIG)}
    if STORAGE:
        options["storage"] = STORAGE
    yield options
    assert _left(options["engine"]) == {"pods": [], "configmaps": []}


def _left(engine: KubernetesEngine) -> dict[str, list[str]]:
    from podtask.engines.kubernetes.client import connect

    cluster = connect(None, engine.kubeconfig)
    core, ns = cluster.core, cluster.default_namespace
    selector = "podtask.io/run-id"
    found: dict[str, list[str]] = {}
    for kind, lister in (
        ("pods", core.list_namespaced_pod),
        ("configmaps", core.list_namespaced_config_map),
    ):
        response = lister(ns, label_selector=selector, _preload_content=False)
        items = json.loads(response.data)["items"]
        # A pod being deleted on its own grace is podtask's delete in flight, not a leak.
        found[kind] = [
            i["metadata"]["name"] for i in items if not i["metadata"].get("deletionTimestamp")
        ]
    return found


@pytest.mark.parametrize("mode", ["native", "managed"])
def test_greet_on_a_live_cluster(mode: str, cluster: dict[str, Any]) -> None:
    result = run(TASKS, "greet", inputs={"name": "cluster"}, sidecar_mode=mode, **cluster)
    assert result.phase == "SUCCEEDED", result.message
    assert list((result.outputs or {}).values()) == ["hello cluster"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # k8s-proto's generated code
def test_seed_example_on_a_live_cluster(cluster: dict[str, Any]) -> None:
    result = run(SEED, "my_sidecar_task", **cluster)
    assert result.phase == "SUCCEEDED", result.message


def test_failure_keeps_its_traceback_on_a_live_cluster(cluster: dict[str, Any]) -> None:
    result = run(TASKS, "fails", inputs={"why": "live"}, **cluster)
    assert result.phase == "FAILED"
    assert result.error and result.error["message"] == "task failed: live"
    assert "ValueError" in result.error["traceback"]
