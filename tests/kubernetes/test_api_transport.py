"""Without --storage, on a cluster that shares no files with this machine (issue 10, items 1-2).

The test API server plays such a cluster with ``host_files=False``: it lists no
``testing.podtask.dev`` group, like kind or any real cluster on 127.0.0.1.  The
run must then not count on this machine's paths: code and inputs go in a
ConfigMap, results come back in the primary's termination message.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podtask.engines.kubernetes import transport
from tests.kubernetes.conftest import TASKS, ApiServer, configmaps, needs_server, pods, run

pytestmark = [needs_server, pytest.mark.slow]
KUBE = ("greet", "--engine", "kubernetes")


@pytest.fixture(scope="module")
def no_files_server() -> Iterator[Any]:
    assert ApiServer is not None
    host = Path(transport.WORK_DIR).parent  # /var/lib/podtask
    existed = host.exists()
    with ApiServer.start(version="v1.30.0", host_files=False) as server:
        yield server
    if not existed:  # what the bug of test_pod_volumes_stay_off_the_host left on this machine
        shutil.rmtree(host, ignore_errors=True)


@pytest.fixture
def remote_srv(no_files_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    no_files_server.faults.clear()
    monkeypatch.setenv("KUBECONFIG", str(no_files_server.kubeconfig_path))
    return no_files_server


def _primary(manifest: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in manifest["spec"]["containers"] if c["name"] == "primary")


@pytest.mark.parametrize("mode", ["native", "managed"])
def test_runs_through_the_api_alone(remote_srv: Any, strict_schema: Any, mode: str) -> None:
    result = run(TASKS, "greet", inputs={"name": "api"}, sidecar_mode=mode)
    assert result.phase == "SUCCEEDED", result.message
    assert list(result.outputs.values()) == ["hello api"]
    primary = _primary(strict_schema[-1])
    env = {e["name"]: e.get("value") for e in primary["env"]}
    assert "PODTASK_SOURCE_ROOT" not in env  # nothing of this machine's paths
    assert env[transport.CODE_BUNDLE_ENV] == f"{transport.IO_DIR}/code.zip"
    volumes = {v["name"]: v for v in strict_schema[-1]["spec"]["volumes"]}
    assert volumes[transport.IO_VOLUME]["configMap"]["name"] == f"{result.run_id}-io"
    assert primary["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert pods(remote_srv) == [] and configmaps(remote_srv) == []
    # The entrypoint's own times travel with the results, finer than the kubelet's seconds.
    lines = (Path(result.run_dir) / "events.jsonl").read_text().splitlines()
    times = {
        e["event"]: e["time"]
        for e in map(json.loads, lines)
        if e.get("time_source") == "entrypoint"
    }
    assert set(times) == {"task-started", "task-finished"}
    assert times["task-started"] <= times["task-finished"]


def test_error_document_comes_back(remote_srv: Any) -> None:
    result = run(TASKS, "fails", inputs={"why": "on purpose"})
    assert result.phase == "FAILED"
    assert result.error and result.error["message"] == "task failed: on purpose"
    assert "ValueError" in result.error["traceback"]
    assert pods(remote_srv) == [] and configmaps(remote_srv) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("fails", "--why", "bad 3"), 1, "primary container 'primary' exited with code 1 (Error)"),
        (("greet",), 0, "primary container 'primary' completed"),
    ],
)
def test_results_document_stays_out_of_messages(
    remote_srv: Any, args: tuple[str, ...], code: int, message: str
) -> None:
    """Review s17 #3: the encoded results are podtask's, decoded and never shown as text."""
    env = {**os.environ, "KUBECONFIG": str(remote_srv.kubeconfig_path)}
    podtask = [sys.executable, "-m", "podtask"]
    kube = ("--engine", "kubernetes", "--json")
    proc = subprocess.run(
        [*podtask, "run", str(TASKS), *args, *kube],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == code, proc.stderr
    assert transport.PREFIX not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["message"] == message
    assert [c["message"] for c in doc["containers"]] == [None, None]
    if code:
        assert doc["error"]["message"] == "task failed: bad 3"  # decoded, not lost
    shown = subprocess.run(
        [*podtask, "describe", doc["run_id"]], env=env, capture_output=True, text=True, timeout=90
    )
    assert shown.returncode == 0, shown.stderr
    assert transport.PREFIX not in shown.stdout
    assert f"Message:    {message}" in shown.stdout


def test_results_past_the_message_fail_naming_storage(remote_srv: Any) -> None:
    result = run(TASKS, "big", inputs={"size": 20000})
    assert result.phase == "FAILED" and result.reason == "ResultsTooLarge", result.message
    assert "4096 bytes" in result.message and "--storage" in result.message
    assert pods(remote_srv) == [] and configmaps(remote_srv) == []


def test_code_past_a_configmap_exits_2_before_anything_starts(
    remote_srv: Any, tmp_path: Path
) -> None:
    (tmp_path / "tasks.py").write_text(TASKS.read_text())
    (tmp_path / "data.bin").write_bytes(os.urandom(1100 * 1024))  # shipped with the code
    proc = subprocess.run(
        [sys.executable, "-m", "podtask", "run", str(tmp_path / "tasks.py"), *KUBE],
        env={**os.environ, "KUBECONFIG": str(remote_srv.kubeconfig_path)},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 2, proc.stderr
    assert "ConfigMap, which holds at most 1020 KiB" in proc.stderr, proc.stderr
    assert "--storage" in proc.stderr and "--no-ship-code" in proc.stderr
    assert pods(remote_srv) == [] and configmaps(remote_srv) == []


def test_server_with_shared_files_needs_no_configmap(srv: Any, strict_schema: Any) -> None:
    result = run(TASKS, "greet", inputs={"name": "host"})
    assert result.phase == "SUCCEEDED", result.message
    env = {e["name"]: e.get("value") for e in _primary(strict_schema[-1])["env"]}
    assert env["PODTASK_SOURCE_ROOT"] == str(TASKS.parent)
    assert transport.RESULT_MESSAGE_ENV not in env
    assert json.loads(json.dumps(result.outputs)) == {"o0": "hello host"}


def test_pod_volumes_stay_off_the_host(remote_srv: Any) -> None:
    result = run(TASKS, "greet", inputs={"name": "private"})
    assert result.phase == "SUCCEEDED", result.message
    written = Path(transport.WORK_DIR) / result.run_id
    assert not written.exists(), f"the pod wrote {written} on this machine"


def test_configmap_goes_with_its_pod_after_kill_9_of_the_client(remote_srv: Any) -> None:
    """podtask killed with -9 mid-run, then the pod deleted as a user would: the cluster's
    garbage collector takes the ConfigMap of code and inputs with it (its owner is the pod)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(TASKS), *KUBE, "--seconds", "30"],
        env={**os.environ, "KUBECONFIG": str(remote_srv.kubeconfig_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        running = remote_srv.wait_for_pod(
            "default",
            _only_pod_name(remote_srv),
            lambda p: p is not None and _primary_running(p),
            30,
        )
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    (cm,) = configmaps(remote_srv)
    owners = cm["metadata"].get("ownerReferences") or []
    assert [(o["kind"], o["uid"]) for o in owners] == [("Pod", running["metadata"]["uid"])]
    _kubectl_delete(remote_srv, running["metadata"]["name"])
    remote_srv.wait_for_pod("default", running["metadata"]["name"], lambda p: p is None, 30)
    assert configmaps(remote_srv) == []


def _only_pod_name(srv: Any) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = pods(srv)
        if found:
            return str(found[0]["metadata"]["name"])
        time.sleep(0.05)
    raise AssertionError("no pod was created")


def _primary_running(pod: dict[str, Any]) -> bool:
    return any(
        s.get("name") == "primary" and "running" in (s.get("state") or {})
        for s in (pod.get("status") or {}).get("containerStatuses") or []
    )


def _kubectl_delete(srv: Any, name: str) -> None:
    """``kubectl delete pod NAME``: a graceful delete, background propagation."""
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(str(srv.kubeconfig_path)))
    core.delete_namespaced_pod(name, "default", grace_period_seconds=1)
