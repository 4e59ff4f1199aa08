"""Pod life as a real v1.36 cluster showed it (issue 10 items 16-19), over HTTP."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer

from .conftest import call, cstatus, needs_namespaces, phase, pod, sh, wait


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
            sh("main", "trap '' TERM; while :; do sleep 0.1; done"),  # takes the whole grace
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


def events_until_deleted(
    core: Any, name: str, rv: str, timeout: int
) -> list[tuple[str, dict[str, Any]]]:
    """The pod's watch events (type, raw object) from ``rv`` up to its DELETED."""
    seen = []
    for ev in watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        resource_version=rv,
        field_selector=f"metadata.name={name}",
        timeout_seconds=timeout,
    ):
        seen.append((ev["type"], ev["raw_object"]))
        if ev["type"] == "DELETED":
            break
    return seen


def ended(p: dict[str, Any]) -> bool:
    return phase(p) in ("Succeeded", "Failed")


@needs_namespaces
def test_conditions_of_failed_pods_and_init_containers(
    srv: ApiServer, core: Any, name: str
) -> None:
    core.create_namespaced_pod("default", pod(name, sh("main", "exit 3")))
    failed = wait(srv, name, ended)
    assert conditions(failed)["Ready"] == ("False", "PodFailed")
    assert conditions(failed)["ContainersReady"] == ("False", "PodFailed")
    assert conditions(failed)["Initialized"] == ("True", None)
    core.delete_namespaced_pod(name, "default")

    init_fail = f"{name}-i"
    core.create_namespaced_pod(
        "default", pod(init_fail, sh("main", "true"), initContainers=[sh("init", "exit 4")])
    )
    failed = wait(srv, init_fail, ended)
    assert phase(failed) == "Failed"
    assert conditions(failed)["Initialized"] == ("False", "ContainersNotInitialized")
    assert conditions(failed)["Ready"] == ("False", "PodFailed")
    core.delete_namespaced_pod(init_fail, "default")


@needs_namespaces
def test_init_container_ready_only_once_completed(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod(
        "default",
        pod(
            name,
            sh("main", "true"),
            initContainers=[sh("init", "sleep 2")],
        ),
    )
    running = wait(srv, name, lambda p: "running" in cstatus(p, "init")["state"])
    assert cstatus(running, "init")["ready"] is False
    done = wait(srv, name, ended)
    assert phase(done) == "Succeeded"
    assert cstatus(done, "init")["ready"] is True
    core.delete_namespaced_pod(name, "default")


@needs_namespaces
def test_delete_is_modified_then_deleted(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod("default", pod(name, sh("main", "true")))
    wait(srv, name, ended)
    rv = core.list_namespaced_pod("default").metadata.resource_version
    answer = core.delete_namespaced_pod(name, "default")
    assert answer.metadata.deletion_timestamp is not None
    assert answer.metadata.deletion_grace_period_seconds == 0
    seen = [
        (kind, obj["metadata"].get("deletionGracePeriodSeconds"))
        for kind, obj in events_until_deleted(core, name, rv, 2)
    ]
    assert seen == [("MODIFIED", 0), ("DELETED", 0)]


@needs_namespaces
def test_container_that_never_started_is_status_unknown(
    srv: ApiServer, core: Any, name: str
) -> None:
    srv.faults.fail_image_pull("registry.example/missing:2")
    manifest = pod(name, {**sh("main", "true"), "image": "registry.example/missing:2"})
    core.create_namespaced_pod("default", manifest)
    wait(srv, name, lambda p: "waiting" in cstatus(p, "main")["state"] and phase(p) == "Pending")
    rv = core.list_namespaced_pod("default").metadata.resource_version
    core.delete_namespaced_pod(name, "default", grace_period_seconds=5)
    last = events_until_deleted(core, name, rv, 10)[-1][1]
    term = cstatus(last, "main")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "ContainerStatusUnknown")
    assert term["message"] == "The container could not be located when the pod was terminated"


@needs_namespaces
def test_completed_sidecar_pod_shows_completed(srv: ApiServer, core: Any, name: str) -> None:
    side = sh("side", "exec sleep 1000", restartPolicy="Always")
    core.create_namespaced_pod(
        "default",
        pod(name, sh("main", "true"), initContainers=[side], terminationGracePeriodSeconds=2),
    )
    done = wait(srv, name, ended)
    assert cstatus(done, "side")["state"]["terminated"]["exitCode"] != 0  # stopped by a signal
    code, table = call(
        srv,
        "GET",
        f"/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3D{name}",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io", **srv.auth_headers},
    )
    assert code == 200 and table["rows"][0]["cells"][2] == "Completed"  # not Init:Error
    core.delete_namespaced_pod(name, "default")


def test_create_defaults(srv: ApiServer, core: Any, name: str) -> None:
    created = core.create_namespaced_pod(
        "default", pod(name, sh("main", "true"), nodeSelector={"no": "node"}), dry_run="All"
    )
    assert created.metadata.generation == 1 and created.metadata.managed_fields
    assert [(t.key, t.effect, t.toleration_seconds) for t in created.spec.tolerations] == [
        ("node.kubernetes.io/not-ready", "NoExecute", 300),
        ("node.kubernetes.io/unreachable", "NoExecute", 300),
    ]
    volume = created.spec.volumes[-1]
    assert volume.name.startswith("kube-api-access-") and volume.projected.default_mode == 420
    mount = created.spec.containers[0].volume_mounts[-1]
    assert (mount.name, mount.mount_path, mount.read_only) == (
        volume.name,
        "/var/run/secrets/kubernetes.io/serviceaccount",
        True,
    )
    opted_out = pod(name, sh("main", "true"), automountServiceAccountToken=False)
    plain = core.create_namespaced_pod("default", opted_out, dry_run="All")
    assert not plain.spec.volumes and not plain.spec.containers[0].volume_mounts


@needs_namespaces
def test_service_account_volume_is_mounted(srv: ApiServer, core: Any, name: str) -> None:
    """The token, the CA and the namespace a pod's in-cluster config reads, as in a cluster."""
    script = "cd /var/run/secrets/kubernetes.io/serviceaccount && cat namespace token ca.crt"
    core.create_namespaced_pod("default", pod(name, sh("main", script)))
    done = wait(srv, name, ended)
    assert phase(done) == "Succeeded"
    text = core.read_namespaced_pod_log(name, "default")
    assert text == "default" + srv.token + srv.certificate.cert.read_text()
    core.delete_namespaced_pod(name, "default")


@needs_namespaces
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_in_pod_api_access(srv: ApiServer, core: Any, name: str) -> None:
    """A pod reads itself through the API with its service account, as in a cluster."""
    script = (
        "D=/var/run/secrets/kubernetes.io/serviceaccount;"
        ' curl -sS --cacert $D/ca.crt -H "Authorization: Bearer $(cat $D/token)"'
        " https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat"
        " $D/namespace)/pods/$HOSTNAME"
    )
    core.create_namespaced_pod("default", pod(name, sh("main", script)))
    done = wait(srv, name, ended)
    text = core.read_namespaced_pod_log(name, "default")
    assert phase(done) == "Succeeded", text
    itself = json.loads(text)
    assert (itself["kind"], itself["metadata"]["name"]) == ("Pod", name)
    core.delete_namespaced_pod(name, "default")
