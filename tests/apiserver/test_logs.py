"""Container logs as the kubelet keeps them: one per run, and the options checked (item 14)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
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


def test_timestamps_and_since_seconds(srv: ApiServer, core: Any, name: str, tmp_path: Path) -> None:
    script = "echo early; while [ ! -f /sig/go ]; do sleep 0.05; done; echo late"
    manifest = pod(
        name,
        sh("main", script, volumeMounts=[{"name": "sig", "mountPath": "/sig"}]),
        volumes=[{"name": "sig", "hostPath": {"path": str(tmp_path)}}],
    )
    core.create_namespaced_pod("default", manifest)
    srv.wait_for_pod("default", name, lambda p: "early" in _log(core, name), 15)
    time.sleep(1.6)  # sinceSeconds is about time: 'early' must be over a second old
    mark = time.time()
    (tmp_path / "go").touch()
    wait(srv, name, lambda p: phase(p) == "Succeeded")
    assert core.read_namespaced_pod_log(name, "default", since_seconds=1) == "late\n"
    stamped = core.read_namespaced_pod_log(name, "default", timestamps=True).splitlines()
    stamps = [line.split(" ", 1) for line in stamped]
    assert [text for _t, text in stamps] == ["early", "late"]
    assert all(len(t) == 30 and t.endswith("Z") for t, _ in stamps)  # RFC3339Nano
    times = [
        datetime.strptime(t[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
        for t, _ in stamps
    ]
    assert times[1] - times[0] > 1.5
    assert abs(times[1] - mark) < 1.0
    core.delete_namespaced_pod(name, "default")


def _log(core: Any, name: str) -> str:
    try:
        return str(core.read_namespaced_pod_log(name, "default"))
    except ApiException:
        return ""
