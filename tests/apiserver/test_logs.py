"""Container logs as the kubelet keeps them: one per run, and the options checked (item 14)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer

from .conftest import cstatus, needs_namespaces, phase, pod, sh, wait

pytestmark = needs_namespaces

COUNT = (
    "n=$(cat /d/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /d/n;"
    " echo run-$n; echo more-$n; [ $n -ge 2 ] || exit 1"
)


def test_one_log_per_run_and_previous(srv: ApiServer, core: Any, name: str) -> None:
    manifest = pod(
        name,
        sh("main", COUNT, volumeMounts=[{"name": "d", "mountPath": "/d"}]),
        volumes=[{"name": "d", "emptyDir": {}}],
    )
    manifest["spec"]["restartPolicy"] = "OnFailure"
    core.create_namespaced_pod("default", manifest)
    done = wait(srv, name, lambda p: phase(p) == "Succeeded", 30)
    assert cstatus(done, "main")["restartCount"] == 1
    assert core.read_namespaced_pod_log(name, "default") == "run-2\nmore-2\n"
    previous = core.read_namespaced_pod_log(name, "default", previous=True)
    assert previous == "run-1\nmore-1\n"
    assert core.read_namespaced_pod_log(name, "default", tail_lines=1) == "more-2\n"
    assert core.read_namespaced_pod_log(name, "default", limit_bytes=3) == "run"
    core.delete_namespaced_pod(name, "default")


def test_bad_log_options(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod("default", pod(name, sh("main", "echo hi")))
    wait(srv, name, lambda p: phase(p) == "Succeeded")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log(name, "default", tail_lines=-1)
    body = json.loads(err.value.body)
    assert (err.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        f'PodLogOptions "{name}" is invalid: tailLines: Invalid value: -1: must be greater than'
        " or equal to 0"
    )
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log(name, "default", previous=True)
    assert "previous terminated container" in json.loads(err.value.body)["message"]
    core.delete_namespaced_pod(name, "default")
