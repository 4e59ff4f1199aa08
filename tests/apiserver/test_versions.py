"""resourceVersion semantics on list and watch, as a real API server (issue 10 item 18)."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer

from .conftest import call

CMS = "/api/v1/namespaces/default/configmaps"


def get(srv: ApiServer, path: str) -> tuple[int, dict[str, Any]]:
    return call(srv, "GET", path, headers=srv.auth_headers)


def cm(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"suite": "rv", **labels}}, "data": {"k": "v"}}


@pytest.fixture
def five(core: Any, name: str) -> Any:
    names = [f"{name}-{i}" for i in range(5)]
    for n in names:
        core.create_namespaced_config_map("default", cm(n))
    yield names
    for n in names:
        core.delete_namespaced_config_map(n, "default")


def test_bad_and_forbidden_versions(srv: ApiServer) -> None:
    code, body = get(srv, CMS + "?resourceVersion=abc")
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"].startswith(
        'invalid resource version: resourceVersion: Invalid value: "abc"'
    )
    code, body = get(srv, CMS + "?resourceVersionMatch=Exact")
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "resourceVersionMatch"
    assert "forbidden unless resourceVersion is provided" in body["message"]


def test_too_old_and_too_new(srv: ApiServer) -> None:
    code, body = get(srv, CMS + "?resourceVersion=1&resourceVersionMatch=Exact")
    assert (code, body["reason"]) == (410, "Expired")
    assert body["message"] == "The resourceVersion for the provided list is too old."
    future = srv.store.rv + 1000
    code, body = get(srv, f"{CMS}?resourceVersion={future}")
    assert (code, body["reason"]) == (504, "Timeout")
    assert (
        body["message"] == f"Timeout: Too large resource version: {future}, current: {srv.store.rv}"
    )
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_exact_is_a_snapshot(srv: ApiServer, core: Any, five: list[str]) -> None:
    rv = core.list_namespaced_config_map(
        "default", label_selector="suite=rv"
    ).metadata.resource_version
    core.delete_namespaced_config_map(five[0], "default")
    core.create_namespaced_config_map("default", cm(five[0]))
    later = core.list_namespaced_config_map("default", label_selector="suite=rv")
    exact = core.list_namespaced_config_map(
        "default", label_selector="suite=rv", resource_version=rv, resource_version_match="Exact"
    )
    assert exact.metadata.resource_version == rv
    old_uid = {c.metadata.name: c.metadata.uid for c in exact.items}[five[0]]
    new_uid = {c.metadata.name: c.metadata.uid for c in later.items}[five[0]]
    assert old_uid != new_uid  # the object as it was at rv, not as it is


def test_pages_count_what_remains(srv: ApiServer, core: Any, five: list[str]) -> None:
    first = core.list_namespaced_config_map("default", label_selector="suite=rv", limit=2)
    assert first.metadata.remaining_item_count == 3 and first.metadata._continue
    core.delete_namespaced_config_map(five[4], "default")  # pages stay a consistent snapshot
    second = core.list_namespaced_config_map(
        "default", label_selector="suite=rv", limit=2, _continue=first.metadata._continue
    )
    third = core.list_namespaced_config_map(
        "default", label_selector="suite=rv", limit=2, _continue=second.metadata._continue
    )
    names = [c.metadata.name for page in (first, second, third) for c in page.items]
    assert names == five and third.metadata._continue is None
    core.create_namespaced_config_map("default", cm(five[4]))
    whole = core.list_namespaced_config_map(
        "default", label_selector="suite=rv", limit=2, resource_version="0"
    )
    assert len(whole.items) == 5  # rv=0 is served from the cache, which ignores limit


def test_list_in_missing_namespace_is_empty(core: Any) -> None:
    listed = core.list_namespaced_pod("no-such-namespace")
    assert listed.items == [] and listed.metadata.resource_version


def test_watch_from_compacted_or_future_version(srv: ApiServer, core: Any) -> None:
    for rv, code, reason in ((1, 410, "Expired"), (srv.store.rv + 1000, 504, "Timeout")):
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ssl_context)
        try:
            path = f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}"
            conn.request("GET", path, headers=srv.auth_headers)
            resp = conn.getresponse()
            assert resp.status == 200  # the stream opens, then says why it ends
            event = json.loads(resp.readline())
        finally:
            conn.close()
        assert event["type"] == "ERROR"
        assert (event["object"]["code"], event["object"]["reason"]) == (code, reason)
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod("default", watch=True, resource_version="abc")
    assert err.value.status == 400
