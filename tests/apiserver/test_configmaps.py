"""ConfigMaps over the real client: REST as Kubernetes does, and mounted into pods."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer

from .conftest import cstatus, needs_namespaces, phase, pod, sh, wait


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


# -- in pods ---------------------------------------------------------------------------------
def ended(p: dict[str, Any]) -> bool:
    return phase(p) in ("Succeeded", "Failed")


def log(core: Any, name: str, container: str = "main") -> str:
    return str(core.read_namespaced_pod_log(name, "default", container=container))


@needs_namespaces
def test_configmap_volume_is_materialized_read_only(srv: ApiServer, core: Any, name: str) -> None:
    blob = base64.b64encode(b"\x00\x01bin").decode()
    core.create_namespaced_config_map(
        "default", cm(name, {"a.txt": "alpha", "b.txt": "beta"}, binaryData={"c.bin": blob})
    )
    script = (
        "cat /all/a.txt /all/b.txt; echo; od -An -c /all/c.bin | tr -d ' \\n'; echo;"
        " stat -c %a /all/a.txt /some/sub/renamed; cat /some/sub/renamed; echo;"
        " ls /some; touch /all/new 2>/dev/null && echo writable || echo read-only"
    )
    volumes = [
        {"name": "all", "configMap": {"name": name}},
        {
            "name": "some",
            "configMap": {
                "name": name,
                "defaultMode": 0o600,
                "items": [{"key": "b.txt", "path": "sub/renamed"}],
            },
        },
    ]
    mounts = [{"name": "all", "mountPath": "/all"}, {"name": "some", "mountPath": "/some"}]
    core.create_namespaced_pod(
        "default", pod(name, sh("main", script, volumeMounts=mounts), volumes=volumes)
    )
    try:
        done = wait(srv, name, ended)
        assert phase(done) == "Succeeded", cstatus(done, "main")
        assert log(core, name).splitlines() == [
            "alphabeta",
            "\\0001bin",
            "644",
            "600",
            "beta",
            "sub",
            "read-only",
        ]
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
        core.delete_namespaced_config_map(name, "default")


@needs_namespaces
def test_missing_configmap_volume_waits_then_starts(srv: ApiServer, core: Any, name: str) -> None:
    volumes = [
        {"name": "cfg", "configMap": {"name": name}},
        {"name": "opt", "configMap": {"name": f"{name}-absent", "optional": True}},
    ]
    mounts = [{"name": "cfg", "mountPath": "/cfg"}, {"name": "opt", "mountPath": "/opt-cfg"}]
    core.create_namespaced_pod(
        "default",
        pod(
            name,
            sh("main", "cat /cfg/k; echo; ls /opt-cfg | wc -l", volumeMounts=mounts),
            volumes=volumes,
        ),
    )
    try:
        waiting = wait(srv, name, lambda p: "waiting" in (cstatus(p, "main").get("state") or {}))
        assert cstatus(waiting, "main")["state"]["waiting"]["reason"] == "ContainerCreating"
        assert phase(waiting) == "Pending"
        core.create_namespaced_config_map("default", cm(name, {"k": "arrived"}))
        done = wait(srv, name, ended)
        assert phase(done) == "Succeeded"
        assert log(core, name).split() == ["arrived", "0"]
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
        core.delete_namespaced_config_map(name, "default")


@needs_namespaces
def test_env_from_missing_configmap_is_create_container_config_error(
    srv: ApiServer, core: Any, name: str
) -> None:
    main = sh(
        "main",
        "echo $K-$P_x",
        env=[{"name": "K", "valueFrom": {"configMapKeyRef": {"name": name, "key": "x"}}}],
    )
    main["envFrom"] = [{"configMapRef": {"name": name}, "prefix": "P_"}]
    core.create_namespaced_pod("default", pod(name, main))
    try:
        stuck = wait(
            srv,
            name,
            lambda p: (
                (cstatus(p, "main")["state"].get("waiting") or {}).get("reason")
                == "CreateContainerConfigError"
            ),
        )
        assert (
            cstatus(stuck, "main")["state"]["waiting"]["message"] == f'configmap "{name}" not found'
        )
        core.create_namespaced_config_map("default", cm(name, {"x": "$(HOME)"}))
        wait(srv, name, ended)
        assert log(core, name) == "$(HOME)-$(HOME)\n"  # ConfigMap values are not expanded
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
        core.delete_namespaced_config_map(name, "default")


@needs_namespaces
def test_termination_messages(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod(
        "default",
        pod(
            name,
            sh("file", "printf 'all good' > /dev/termination-log"),
            sh(
                "custom", "printf '%05000d' 7 > /tmp/msg; exit 1", terminationMessagePath="/tmp/msg"
            ),
            sh(
                "fallback",
                "for i in $(seq 1 100); do echo line-$i; done; exit 2",
                terminationMessagePolicy="FallbackToLogsOnError",
            ),
            sh("fallback-ok", "echo fine", terminationMessagePolicy="FallbackToLogsOnError"),
        ),
    )
    try:
        done = wait(srv, name, ended)

        def message(c: str) -> str | None:
            return cstatus(done, c)["state"]["terminated"].get("message")

        assert message("file") == "all good"
        assert message("custom") == "0" * 4096  # 5000 bytes written, cut at 4 KiB
        fallback = (message("fallback") or "").splitlines()
        assert fallback[0] == "line-21" and fallback[-1] == "line-100"  # the last 80 lines
        assert message("fallback-ok") is None  # only on error
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_owned_configmaps_go_with_their_pod(srv: ApiServer, core: Any, name: str) -> None:
    created = core.create_namespaced_pod(
        "default", pod(name, sh("main", "sleep 30"), nodeSelector={"no": "such-node"})
    )
    owner = {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": created.metadata.uid}
    core.create_namespaced_config_map(
        "default", cm(name, {"k": "v"}, metadata={"name": name, "ownerReferences": [owner]})
    )
    core.create_namespaced_config_map("default", cm(f"{name}-free"))
    core.delete_namespaced_pod(name, "default")
    names = {c.metadata.name for c in core.list_namespaced_config_map("default").items}
    assert name not in names and f"{name}-free" in names
    core.delete_namespaced_config_map(f"{name}-free", "default")


def _owner(p: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "name": p.metadata.name, "uid": p.metadata.uid}


def _pending(core: Any, name: str) -> Any:
    """A pod that stays Pending (nothing matches its nodeSelector): an owner that lives."""
    return core.create_namespaced_pod(
        "default", pod(name, sh("main", "sleep 30"), nodeSelector={"no": "such-node"})
    )


def test_patch_verbs_as_a_real_server(core: Any, name: str) -> None:
    first, second = _pending(core, f"{name}-a"), _pending(core, f"{name}-b")
    core.create_namespaced_config_map(
        "default", cm(name, {"k": "v"}, metadata={"name": name, "ownerReferences": [_owner(first)]})
    )
    # The Python client sends a dict as a strategic merge patch: owners merge by uid.
    patched = core.patch_namespaced_config_map(
        name, "default", {"metadata": {"ownerReferences": [_owner(second)]}, "data": {"n": "1"}}
    )
    assert [o.uid for o in patched.metadata.owner_references] == [
        first.metadata.uid,
        second.metadata.uid,
    ]
    assert patched.data == {"k": "v", "n": "1"}
    # A JSON patch (RFC 6902): a failed test is a 422, nothing changes.
    ops = [{"op": "test", "path": "/data/k", "value": "other"}, {"op": "remove", "path": "/data"}]
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map(name, "default", ops)
    assert err.value.status == 422
    ops = [
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "replace", "path": "/data/k", "value": "w"},
    ]
    assert core.patch_namespaced_config_map(name, "default", ops).data == {"k": "w", "n": "1"}
    # An update (PUT) from a stale read is a 409.
    stale = core.read_namespaced_config_map(name, "default")
    stale.data = {"x": "y"}
    core.patch_namespaced_config_map(name, "default", {"data": {"z": "1"}})
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map(name, "default", stale)
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map(
            name, "default", {"metadata": {"ownerReferences": [{"kind": "Pod", "name": "x"}]}}
        )
    code, body = error(err.value)
    assert code == 422 and "uid must not be empty" in body["message"]
    for p in (first, second):
        core.delete_namespaced_pod(p.metadata.name, "default")
    assert name not in {c.metadata.name for c in core.list_namespaced_config_map("default").items}


def test_garbage_collection_as_the_collector(core: Any, name: str) -> None:
    from kubernetes import client

    owner, other = _pending(core, f"{name}-o"), _pending(core, f"{name}-p")
    both = [_owner(owner), _owner(other)]
    core.create_namespaced_config_map(
        "default",
        cm(f"{name}-1", metadata={"name": f"{name}-1", "ownerReferences": [_owner(owner)]}),
    )
    core.create_namespaced_config_map(
        "default", cm(f"{name}-2", metadata={"name": f"{name}-2", "ownerReferences": both})
    )
    # Orphan: the owner goes, its dependents stay, without the reference to it.
    core.delete_namespaced_pod(
        owner.metadata.name, "default", body=client.V1DeleteOptions(propagation_policy="Orphan")
    )
    kept = core.read_namespaced_config_map(f"{name}-1", "default")
    assert not kept.metadata.owner_references
    # Another owner remains: only the reference to the deleted one goes.
    assert [
        o.uid
        for o in core.read_namespaced_config_map(f"{name}-2", "default").metadata.owner_references
    ] == [other.metadata.uid]
    core.delete_namespaced_pod(other.metadata.name, "default")
    names = {c.metadata.name for c in core.list_namespaced_config_map("default").items}
    assert f"{name}-2" not in names and f"{name}-1" in names
    # An owner that is already gone: the collector takes the dependent at once.
    core.patch_namespaced_config_map(
        f"{name}-1", "default", {"metadata": {"ownerReferences": [_owner(other)]}}
    )
    names = {c.metadata.name for c in core.list_namespaced_config_map("default").items}
    assert f"{name}-1" not in names
