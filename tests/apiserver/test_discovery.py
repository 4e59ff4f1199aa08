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

from podtask.testing.apiserver import ApiServer

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
