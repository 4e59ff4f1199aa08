"""The server says through API discovery that its pods share this machine's files (issue 10)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from podtask.engines.local.linux import namespaces_available
from podtask.testing.apiserver import ApiServer

from .conftest import phase, pod, sh

GROUP = "testing.podtask.dev"


def group_versions(core: Any) -> set[str]:
    groups = client.ApisApi(core.api_client).get_api_versions().groups
    return {v.group_version for g in groups for v in g.versions}


def resources(core: Any) -> Any:
    """GET /apis/testing.podtask.dev/v1 through the official client."""
    return client.CustomObjectsApi(core.api_client).get_api_resources(GROUP, "v1")


def test_host_files_are_announced(srv: ApiServer, core: Any) -> None:
    assert f"{GROUP}/v1" in group_versions(core)
    body = resources(core)
    assert body.group_version == f"{GROUP}/v1"
    assert [r.name for r in body.resources] == ["hostfiles"]


def test_no_host_files_answers_like_a_real_cluster() -> None:
    from kubernetes import config

    with ApiServer.start(host_files=False) as real_like:
        core = client.CoreV1Api(config.new_client_from_config(str(real_like.kubeconfig_path)))
        assert f"{GROUP}/v1" not in group_versions(core)
        with pytest.raises(ApiException) as err:
            resources(core)
        assert err.value.status == 404
        assert json.loads(err.value.body)["reason"] == "NotFound"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_lists_the_group(srv: ApiServer) -> None:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(srv.kubeconfig_path), "api-versions"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert f"{GROUP}/v1" in done.stdout.split()


def test_differences_are_listed_by_a_command() -> None:
    from podtask.testing.apiserver.differences import KNOWN

    done = subprocess.run(
        [sys.executable, "-m", "podtask.testing.apiserver", "--differences"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{len(KNOWN)} known differences from a real cluster")
    for d in KNOWN:
        assert f"[{d.id}] {d.area}" in done.stdout


def test_differences_into_a_closed_pipe_end_quietly() -> None:
    """Review s17 #19: `--differences | head` ended in a BrokenPipeError traceback."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (head) is gone before anything is written
    try:
        done = subprocess.run(
            [sys.executable, "-m", "podtask.testing.apiserver", "--differences"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 1  # as `podtask runs | head`: the output did not all go out


@pytest.mark.skipif(namespaces_available() is not None, reason="needs Linux namespaces")
def test_outputs_reach_the_host_only_where_files_are_shared(
    srv: ApiServer, core: Any, name: str, tmp_path: Any
) -> None:
    """The primary's --output-prefix is bound to this machine's path only on a server that
    says pods share its files, and only outside the primary's volumes."""
    from kubernetes import config

    def run_on(server: ApiServer, api: Any, prefix: str, **extra: Any) -> None:
        manifest = pod(name, sh("main", "true", args=["--output-prefix", prefix], **extra))
        manifest["metadata"]["annotations"] = {"podtask.io/primary-container": "main"}
        api.create_namespaced_pod("default", manifest)
        server.wait_for_pod("default", name, lambda p: phase(p) in ("Succeeded", "Failed"), 30)
        api.delete_namespaced_pod(name, "default")
        server.wait_for_pod("default", name, lambda p: p is None, 10)

    run_on(srv, core, str(tmp_path / "shared" / "out"))
    assert (tmp_path / "shared" / "out").is_dir()
    in_volume = {"volumeMounts": [{"name": "work", "mountPath": str(tmp_path / "vol")}]}
    manifest_volume = [{"name": "work", "emptyDir": {}}]
    manifest = pod(
        name,
        sh("main", "true", args=["--output-prefix", str(tmp_path / "vol" / "out")], **in_volume),
        volumes=manifest_volume,
    )
    manifest["metadata"]["annotations"] = {"podtask.io/primary-container": "main"}
    core.create_namespaced_pod("default", manifest)
    srv.wait_for_pod("default", name, lambda p: phase(p) in ("Succeeded", "Failed"), 30)
    core.delete_namespaced_pod(name, "default")
    assert not (tmp_path / "vol").exists()  # the emptyDir held it, as on a cluster
    with ApiServer.start(host_files=False) as real_like:
        api = client.CoreV1Api(config.new_client_from_config(str(real_like.kubeconfig_path)))
        run_on(real_like, api, str(tmp_path / "private" / "out"))
    assert not (tmp_path / "private").exists()  # nothing of the pod's reached this machine
