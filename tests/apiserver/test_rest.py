"""REST semantics through the real ``kubernetes`` client: codes, bodies, watches."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer, validation

from .conftest import pod, sh


def body(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def sleeper(name: str) -> dict[str, Any]:
    return pod(name, sh("main", "sleep 30"), terminationGracePeriodSeconds=1)


def test_version_and_discovery(srv: ApiServer, core: Any) -> None:
    info = client.VersionApi(core.api_client).get_code()
    assert info.git_version == validation.default_version()
    kv = pytest.importorskip("kubernetes_validate")
    assert info.git_version == "v" + kv.latest_version()
    assert (info.major, info.minor) == tuple(info.git_version.lstrip("v").split(".")[:2])
    resources = {r.name for r in core.get_api_resources().resources}
    assert {"pods", "pods/log", "namespaces"} <= resources
    with (
        ApiServer.start(version="v1.28.3") as old,
        urllib.request.urlopen(old.url + "/version", context=old.ssl_context) as r,
    ):
        assert json.load(r)["gitVersion"] == "v1.28.3"


def test_create_defaults_get_list_and_409(srv: ApiServer, core: Any, name: str) -> None:
    created = core.create_namespaced_pod("default", sleeper(name))
    try:
        assert created.metadata.uid and created.metadata.creation_timestamp
        assert created.status.phase == "Pending"
        assert created.spec.restart_policy == "Never"
        assert created.spec.containers[0].termination_message_path == "/dev/termination-log"
        got = core.read_namespaced_pod(name, "default")
        assert got.metadata.uid == created.metadata.uid
        assert int(got.metadata.resource_version) >= int(created.metadata.resource_version)
        with pytest.raises(ApiException) as err:
            core.create_namespaced_pod("default", sleeper(name))
        assert err.value.status == 409
        assert body(err.value)["reason"] == "AlreadyExists"
        assert body(err.value)["message"] == f'pods "{name}" already exists'

        def names(**kw: str) -> set[str]:
            return {p.metadata.name for p in core.list_namespaced_pod("default", **kw).items}

        assert name in names(label_selector="suite=apiserver")
        assert name in names(label_selector="suite in (x,apiserver),!nope")
        assert name not in names(label_selector="suite!=apiserver")
        assert names(field_selector=f"metadata.name={name}") == {name}
        assert name in {p.metadata.name for p in core.list_pod_for_all_namespaces().items}
        page = core.list_namespaced_pod("default", limit=1)
        assert len(page.items) == 1
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_generate_name(core: Any) -> None:
    manifest = sleeper("")
    del manifest["metadata"]["name"]
    manifest["metadata"]["generateName"] = "gen-"
    created = core.create_namespaced_pod("default", manifest)
    assert created.metadata.name.startswith("gen-") and len(created.metadata.name) == 9
    core.delete_namespaced_pod(created.metadata.name, "default", grace_period_seconds=0)


def test_404_and_422(core: Any) -> None:
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("nope", "default")
    assert err.value.status == 404
    assert body(err.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "pods"},
        "code": 404,
    }
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("no-such-ns", sleeper("x"))
    assert err.value.status == 404 and body(err.value)["details"]["kind"] == "namespaces"
    bad = pod("Bad_Name", {"name": "a", "image": "x"}, {"name": "a"})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("default", bad)
    assert err.value.status == 422
    b = body(err.value)
    assert b["reason"] == "Invalid"
    assert b["message"].startswith('Pod "Bad_Name" is invalid: [metadata.name: Invalid value')
    assert [(c["field"], c["reason"]) for c in b["details"]["causes"]] == [
        ("metadata.name", "FieldValueInvalid"),
        ("spec.containers[1].name", "FieldValueDuplicate"),
        ("spec.containers[1].image", "FieldValueRequired"),
    ]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("default", pod("empty"))
    assert body(err.value)["details"]["causes"][0]["field"] == "spec.containers"


def test_schema_unknown_field_strict_is_400(srv: ApiServer, core: Any) -> None:
    pytest.importorskip("kubernetes_validate")
    manifest = sleeper("schema-check")
    manifest["spec"]["containers"][0]["bogus"] = 1
    # The client validates models itself, so send the misspelt field raw.
    req = urllib.request.Request(
        srv.url + "/api/v1/namespaces/default/pods?fieldValidation=Strict",
        data=json.dumps(manifest).encode(),
        headers={"Content-Type": "application/json", **srv.auth_headers},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, context=srv.ssl_context)
    assert err.value.code == 400
    assert json.load(err.value)["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field'
        ' "spec.containers[0].bogus"'
    )


def test_403_and_500(srv: ApiServer, core: Any, name: str) -> None:
    srv.faults.forbid("create", "pods", "default", user="alice")
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("default", sleeper(name))
    assert err.value.status == 403
    assert body(err.value)["message"] == (
        'pods is forbidden: User "alice" cannot create resource "pods" in API group ""'
        ' in the namespace "default"'
    )
    srv.faults.clear()
    srv.reset_requests()
    srv.faults.fail_next("create", 2)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            core.create_namespaced_pod("default", sleeper(name))
        assert err.value.status == 500 and body(err.value)["reason"] == "InternalError"
    core.create_namespaced_pod("default", sleeper(name))
    assert srv.requests["create"] == 3
    core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
    # The same through the HTTP control endpoint.
    req = urllib.request.Request(
        srv.url + "/podtask-test/faults",
        data=json.dumps({"action": "fail", "verb": "get", "count": 1, "code": 504}).encode(),
        headers={"Content-Type": "application/json", **srv.auth_headers},
        method="POST",
    )
    urllib.request.urlopen(req, context=srv.ssl_context).close()
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod(name, "default")
    assert err.value.status == 504  # (a 503 carries Retry-After, which urllib3 obeys)
    req = urllib.request.Request(srv.url + "/podtask-test/requests", headers=srv.auth_headers)
    with urllib.request.urlopen(req, context=srv.ssl_context) as r:
        assert json.load(r)["get"] >= 1


def test_watch_resume_and_410_after_compaction(srv: ApiServer, core: Any, name: str) -> None:
    rv = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", sleeper(name))
    try:
        seen = []
        for ev in watch.Watch().stream(
            core.list_namespaced_pod,
            "default",
            resource_version=rv,
            field_selector=f"metadata.name={name}",
            timeout_seconds=1,
        ):
            seen.append((ev["type"], ev["object"].metadata.name))
        assert seen[0] == ("ADDED", name)
        assert all(n == name for _t, n in seen)
        srv.faults.compact()
        with pytest.raises(ApiException) as err:
            for _ev in watch.Watch().stream(
                core.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=1
            ):
                pass
        assert err.value.status == 410
        assert "too old resource version" in str(err.value.reason)
        # The raw stream: one ERROR event carrying a 410 Status, as the real cacher sends.
        with urllib.request.urlopen(
            urllib.request.Request(
                f"{srv.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}",
                headers=srv.auth_headers,
            ),
            context=srv.ssl_context,
        ) as r:
            line = json.loads(r.readline())
        assert line["type"] == "ERROR"
        assert line["object"]["code"] == 410 and line["object"]["reason"] == "Expired"
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_watch_bookmarks_and_dropped_connection(srv: ApiServer, core: Any) -> None:
    rv = core.list_namespaced_pod("default").metadata.resource_version
    events: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            resp = core.list_namespaced_pod(
                "default",
                watch=True,
                resource_version=rv,
                allow_watch_bookmarks=True,
                _preload_content=False,
            )
            for line in resp:
                events.append(json.loads(line)["type"])
        except Exception as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 5
    while "BOOKMARK" not in events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "BOOKMARK" in events
    assert srv.faults.drop_watches() >= 1
    t.join(5)
    assert not t.is_alive()
    assert errors, "a dropped watch must look like a broken connection"


def test_delete_not_found_and_precondition(core: Any, name: str) -> None:
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_pod("nope", "default")
    assert err.value.status == 404
    core.create_namespaced_pod("default", sleeper(name))
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_pod(
            name,
            "default",
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="x")),
        )
    assert err.value.status == 409
    core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
    with pytest.raises(ApiException):
        core.read_namespaced_pod(name, "default")


def test_pod_patch_types_and_update(core: Any, name: str) -> None:
    core.create_namespaced_pod(
        "default", pod(name, sh("main", "sleep 30"), nodeSelector={"no": "such-node"})
    )
    patched = core.patch_namespaced_pod(name, "default", {"metadata": {"labels": {"a": "1"}}})
    assert patched.metadata.labels == {"suite": "apiserver", "a": "1"}
    ops = [{"op": "remove", "path": "/metadata/labels/suite"}]
    assert core.patch_namespaced_pod(name, "default", ops).metadata.labels == {"a": "1"}
    with pytest.raises(ApiException) as err:  # the image of a pod is mutable, its command not
        core.patch_namespaced_pod(
            name,
            "default",
            [{"op": "replace", "path": "/spec/containers/0/command", "value": ["x"]}],
        )
    assert err.value.status == 422
    stale = core.read_namespaced_pod(name, "default")
    core.patch_namespaced_pod(name, "default", {"metadata": {"labels": {"b": "2"}}})
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_pod(name, "default", stale)
    assert err.value.status == 409
    core.delete_namespaced_pod(name, "default")
