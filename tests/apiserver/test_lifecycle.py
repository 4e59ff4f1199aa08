"""Pod life as a real v1.36 cluster showed it (issue 10 items 16-19), over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer

from .conftest import needs_namespaces, phase, pod, sh, wait


def conditions(p: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {c["type"]: (c["status"], c.get("reason")) for c in p["status"].get("conditions") or []}


def eviction(name: str, grace: int | None = None) -> Any:
    options = client.V1DeleteOptions(grace_period_seconds=grace) if grace is not None else None
    return client.V1Eviction(
        metadata=client.V1ObjectMeta(name=name, namespace="default"), delete_options=options
    )


@needs_namespaces
def test_eviction_api(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod(
        "default",
        pod(
            name,
            sh("main", "trap 'exit 0' TERM; sleep 100 & wait"),
            terminationGracePeriodSeconds=3,
        ),
    )
    wait(srv, name, lambda p: phase(p) == "Running")
    core.create_namespaced_pod_eviction(name, "default", eviction(name))
    p = wait(srv, name, lambda p: "DisruptionTarget" in conditions(p))
    assert conditions(p)["DisruptionTarget"] == ("True", "EvictionByEvictionAPI")
    cond = next(c for c in p["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert cond["message"] == "Eviction API: evicting"
    assert p["metadata"]["deletionGracePeriodSeconds"] == 3  # a graceful delete
    srv.wait_for_pod("default", name, lambda p: p is None, 15)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_eviction("nope", "default", eviction("nope"))
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'pods "nope" not found'


@pytest.mark.parametrize(
    "placement",
    [
        {"nodeSelector": {"disktype": "ssd"}},
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/os",
                                        "operator": "In",
                                        "values": ["windows"],
                                    }
                                ]
                            }
                        ]
                    }
                }
            }
        },
    ],
)
def test_unschedulable_pod_stays_pending(
    srv: ApiServer, core: Any, name: str, placement: dict[str, Any]
) -> None:
    core.create_namespaced_pod("default", pod(name, sh("main", "echo ran"), **placement))
    p = wait(srv, name, lambda p: "PodScheduled" in conditions(p))
    assert conditions(p) == {"PodScheduled": ("False", "Unschedulable")}
    assert "didn't match Pod's node affinity/selector" in p["status"]["conditions"][0]["message"]
    assert phase(p) == "Pending" and not p["spec"].get("nodeName")
    assert srv.kubelet.worker(p["metadata"]["uid"]) is None  # nothing runs it
    core.delete_namespaced_pod(name, "default")
    assert srv.get_pod("default", name) is None


@needs_namespaces
def test_matching_selector_and_own_node_name_run(srv: ApiServer, core: Any, name: str) -> None:
    placement = {"nodeSelector": {"kubernetes.io/os": "linux"}, "nodeName": srv.node_name}
    core.create_namespaced_pod("default", pod(name, sh("main", "echo ran"), **placement))
    done = wait(srv, name, lambda p: phase(p) == "Succeeded")
    assert conditions(done)["PodScheduled"] == ("True", None)
    core.delete_namespaced_pod(name, "default")
