"""Against a real cluster: set PODTASK_TEST_KUBECONFIG (and PODTASK_TEST_STORAGE, a URL the
cluster's pods can reach, plus PODTASK_IMAGE, an image with podtask[kubernetes] installed)."""

from __future__ import annotations

import os

import pytest

from podtask.engines.kubernetes.engine import KubernetesEngine
from tests.kubernetes.conftest import TASKS, run

KUBECONFIG = os.environ.get("PODTASK_TEST_KUBECONFIG")

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(not KUBECONFIG, reason="PODTASK_TEST_KUBECONFIG is not set"),
]


@pytest.mark.parametrize("mode", ["native", "managed"])
def test_greet_on_a_live_cluster(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert KUBECONFIG
    monkeypatch.setenv("KUBECONFIG", KUBECONFIG)
    options = {}
    if os.environ.get("PODTASK_TEST_STORAGE"):
        options["storage"] = os.environ["PODTASK_TEST_STORAGE"]
    result = run(
        TASKS,
        "greet",
        inputs={"name": "cluster"},
        sidecar_mode=mode,
        engine=KubernetesEngine(kubeconfig=KUBECONFIG),
        **options,
    )
    assert result.phase == "SUCCEEDED", result.message
    assert list((result.outputs or {}).values()) == ["hello cluster"]
