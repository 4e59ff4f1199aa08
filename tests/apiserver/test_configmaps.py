"""ConfigMaps over the real client: REST as Kubernetes does, and mounted into pods."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException


def cm(name: str, data: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": data or {},
        **extra,
    }


def error(exc: ApiException) -> tuple[int, dict[str, Any]]:
    return exc.status, json.loads(exc.body)


def test_create_get_list_delete_and_codes(core: Any, name: str) -> None:
    created = core.create_namespaced_config_map("default", cm(name, {"a.txt": "hello"}))
    assert created.metadata.uid and created.metadata.resource_version
    assert core.read_namespaced_config_map(name, "default").data == {"a.txt": "hello"}
    assert name in {c.metadata.name for c in core.list_namespaced_config_map("default").items}
    assert name in {c.metadata.name for c in core.list_config_map_for_all_namespaces().items}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", cm(name))
    assert error(err.value)[0] == 409
    assert error(err.value)[1]["message"] == f'configmaps "{name}" already exists'
    status = core.delete_namespaced_config_map(name, "default")
    assert status["status"] == "Success" and status["details"]["name"] == name
    for call in (core.read_namespaced_config_map, core.delete_namespaced_config_map):
        with pytest.raises(ApiException) as err:
            call(name, "default")
        assert error(err.value)[0] == 404
        assert error(err.value)[1]["message"] == f'configmaps "{name}" not found'


def test_invalid_configmaps_are_422(core: Any) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", cm("Bad_Name"))
    code, body = error(err.value)
    assert code == 422 and body["details"]["causes"][0]["field"] == "metadata.name"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", cm("bad-key", {"a/b": "x"}))
    code, body = error(err.value)
    assert code == 422 and body["details"]["causes"][0]["field"] == "data[a/b]"
    dup = cm("dup-key", {"k": "x"}, binaryData={"k": base64.b64encode(b"y").decode()})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", dup)
    assert "duplicate of key present in binaryData" in error(err.value)[1]["message"]


def test_the_1_mib_limit(core: Any, name: str) -> None:
    limit = 1024 * 1024
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", cm(name, {"big": "x" * (limit + 1)}))
    code, body = error(err.value)
    assert code == 422 and "Too long" in body["message"]
    half = base64.b64encode(b"\0" * (limit // 2)).decode()
    exact = cm(name, {"a": "x" * (limit // 2)}, binaryData={"b": half})
    core.create_namespaced_config_map("default", exact)  # exactly 1 MiB fits
    core.delete_namespaced_config_map(name, "default")


def test_missing_namespace_is_404(core: Any) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-ns", cm("x"))
    assert error(err.value)[1]["message"] == 'namespaces "no-such-ns" not found'
