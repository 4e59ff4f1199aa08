"""core/v1 Events: what the kubelet and scheduler say about a pod, listed and watched as on a
cluster (``kubectl describe pod`` and ``kubectl get events`` read them)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from kubernetes import watch
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer

from .conftest import needs_namespaces, phase, pod, sh, wait

pytestmark = needs_namespaces


def _events(core: Any, uid: str) -> list[Any]:
    return list(
        core.list_namespaced_event("default", field_selector=f"involvedObject.uid={uid}").items
    )


def _said(events: list[Any]) -> list[tuple[str, str, str | None]]:
    return [(e.reason, e.type, e.involved_object.field_path) for e in events]


def test_a_failing_liveness_probe_is_told_in_events(srv: ApiServer, core: Any, name: str) -> None:
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    manifest = pod(
        name,
        sh("main", "sleep 30", livenessProbe=probe),
        terminationGracePeriodSeconds=1,
    )
    created = core.create_namespaced_pod("default", manifest)
    done = wait(srv, name, lambda p: phase(p) == "Failed", timeout=30)
    term = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] in (137, 143) and "message" not in term  # the status says no more
    events = _events(core, created.metadata.uid)
    said = _said(events)
    main = "spec.containers{main}"
    assert said[0] == ("Scheduled", "Normal", None)
    for reason in ("Pulled", "Created", "Started"):
        assert (reason, "Normal", main) in said
    unhealthy = next(e for e in events if e.reason == "Unhealthy")
    assert unhealthy.type == "Warning" and unhealthy.message.startswith("Liveness probe failed")
    killing = next(e for e in events if e.reason == "Killing")
    assert killing.message == "Container main failed liveness probe"
    assert said.index(("Unhealthy", "Warning", main)) < said.index(("Killing", "Normal", main))
    ev = unhealthy
    assert (ev.involved_object.kind, ev.involved_object.name) == ("Pod", name)
    assert ev.source.component == "kubelet" and ev.source.host == srv.node_name
    assert ev.count == 1 and ev.first_timestamp is not None and ev.metadata.name.startswith(name)
    core.delete_namespaced_pod(name, "default")


def test_events_are_selected_by_involved_object(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod("default", pod(name, sh("main", "true")))
    wait(srv, name, lambda p: phase(p) == "Succeeded")
    by_name = core.list_namespaced_event(
        "default", field_selector=f"involvedObject.name={name},involvedObject.kind=Pod"
    ).items
    assert by_name and {e.involved_object.name for e in by_name} == {name}
    started = core.list_namespaced_event(
        "default", field_selector=f"involvedObject.name={name},reason=Started"
    ).items
    assert [e.message for e in started] == ["Started container main"]
    one = core.read_namespaced_event(started[0].metadata.name, "default")
    assert one.reason == "Started"
    # Fields are per resource, as the API server registers them.
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod("default", field_selector=f"involvedObject.name={name}")
    assert err.value.status == 400
    assert json.loads(err.value.body)["message"] == "field label not supported: involvedObject.name"
    core.delete_namespaced_pod(name, "default")
    # Events outlive their pod, as on a cluster (an hour there).
    assert core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items


def test_events_are_watched(srv: ApiServer, core: Any, name: str) -> None:
    seen: list[str] = []
    w = watch.Watch()
    ready = threading.Event()

    def follow() -> None:
        ready.set()
        for ev in w.stream(
            core.list_namespaced_event,
            "default",
            field_selector=f"involvedObject.name={name}",
            timeout_seconds=20,
        ):
            seen.append(ev["object"].reason)
            if ev["object"].reason == "Started":
                w.stop()

    t = threading.Thread(target=follow)
    t.start()
    ready.wait()
    core.create_namespaced_pod("default", pod(name, sh("main", "sleep 0.2")))
    t.join(25)
    assert seen[:1] == ["Scheduled"] and seen[-1] == "Started"
    wait(srv, name, lambda p: phase(p) == "Succeeded")
    core.delete_namespaced_pod(name, "default")


def test_a_failed_pull_and_a_stop_are_told(srv: ApiServer, core: Any, name: str) -> None:
    srv.faults.fail_image_pull(container="side", pod=name)
    created = core.create_namespaced_pod(
        "default",
        pod(name, sh("main", "sleep 30"), sh("side", "sleep 30"), terminationGracePeriodSeconds=1),
    )
    wait(srv, name, lambda p: phase(p) == "Pending" and _waiting(p) == "ImagePullBackOff")
    core.delete_namespaced_pod(name, "default")
    srv.wait_for_pod("default", name, lambda p: p is None, 20)
    said = [(e.reason, e.message) for e in _events(core, created.metadata.uid)]
    assert ("Failed", "Error: ErrImagePull") in said
    assert ("Failed", "Error: ImagePullBackOff") in said
    assert ("Killing", "Stopping container main") in said
    assert not any(r == "Started" and "side" in m for r, m in said)


def _waiting(p: dict[str, Any]) -> str | None:
    for c in p["status"].get("containerStatuses") or []:
        waiting = (c.get("state") or {}).get("waiting")
        if c["name"] == "side" and waiting:
            return str(waiting.get("reason"))
    return None


def test_events_may_be_forbidden(srv: ApiServer, core: Any) -> None:
    srv.faults.forbid("list", "events")
    with pytest.raises(ApiException) as err:
        core.list_namespaced_event("default")
    assert err.value.status == 403


def test_events_expire_and_repeats_are_counted(
    srv: ApiServer, core: Any, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podtask.testing.apiserver import events

    created = core.create_namespaced_pod(
        "default",
        pod(name, sh("main", "true"), volumes=[{"name": "v", "configMap": {"name": "absent"}}]),
    )
    # A missing ConfigMap volume: the kubelet retries the mount, and says so once, counted.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        mounts = [e for e in _events(core, created.metadata.uid) if e.reason == "FailedMount"]
        if mounts and mounts[0].count >= 2:
            break
        time.sleep(0.2)
    assert len(mounts) == 1 and mounts[0].count >= 2, mounts
    assert 'configmap "absent" not found' in mounts[0].message
    core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
    srv.wait_for_pod("default", name, lambda p: p is None, 15)
    monkeypatch.setattr(events, "TTL", 0.0)
    srv.events.scheduler(
        {"metadata": {"name": "x", "namespace": "default", "uid": "u"}}, "Normal", "R", "m"
    )
    assert _events(core, created.metadata.uid) == []  # gone after the TTL
    assert _events(core, "u")  # the one just recorded (expires at the next write)
