"""kubectl against the server, and the ``python -m podtask.testing.apiserver`` command."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from podtask.testing.apiserver import ApiServer

from .conftest import needs_namespaces, phase, pod, sh, wait

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=30,
        input=input,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_kubectl
@needs_namespaces
def test_kubectl_get_logs_delete(srv: ApiServer, name: str) -> None:
    kc = srv.kubeconfig_path
    manifest = pod(name, sh("main", "echo hello-kubectl; sleep 30"))
    kubectl(kc, "create", "--validate=false", "-f", "-", input=json.dumps(manifest))
    wait(srv, name, lambda p: phase(p) == "Running")
    table = kubectl(kc, "get", "pods")
    assert table.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    row = next(line.split() for line in table.splitlines() if line.startswith(name))
    assert row[1:4] == ["1/1", "Running", "0"]
    assert "127.0.0.1" in kubectl(kc, "get", "pods", "-o", "wide")
    obj: dict[str, Any] = json.loads(kubectl(kc, "get", "pod", name, "-o", "json"))
    assert obj["status"]["phase"] == "Running"
    assert "uid:" in kubectl(kc, "get", "pod", name, "-o", "yaml")
    time.sleep(0.1)
    assert kubectl(kc, "logs", name) == "hello-kubectl\n"
    assert f'pod "{name}" deleted' in kubectl(kc, "delete", "pod", name, "--grace-period=1")
    assert srv.get_pod("default", name) is None  # kubectl waited for it to go


@needs_namespaces
def test_cli_serves_and_stops_cleanly(tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    mark = f"podtask-cli-{os.getpid()}"
    with subprocess.Popen(
        [sys.executable, "-m", "podtask.testing.apiserver", "--kubeconfig", str(kc)],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        _serve_one_pod(proc, kc, mark)
    assert proc.returncode == 0
    assert _pids(mark) == []  # stopping the server killed its pods


def _serve_one_pod(proc: subprocess.Popen[str], kc: Path, mark: str) -> None:
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "https://127.0.0.1:" in line and str(kc) in line
        assert "current-context: podtask-test" in kc.read_text()
        assert kc.stat().st_mode & 0o777 == 0o600
        config = yaml.safe_load(kc.read_text())
        token = config["users"][0]["user"]["token"]
        ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
        tls = ssl.create_default_context(cadata=ca.decode())
        url = line.split(" on ")[1].split(";")[0]
        manifest = pod("cli-pod", sh("main", f"sleep 100; echo {mark}"))
        import urllib.request

        req = urllib.request.Request(
            url + "/api/v1/namespaces/default/pods",
            data=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        urllib.request.urlopen(req, context=tls).close()
        deadline = time.monotonic() + 10
        while not _pids(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pids(mark), "the pod should be running"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def _pids(word: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if word.encode() in cmdline:
            out.append(int(entry))
    return out


@needs_kubectl
@needs_namespaces
def test_kubectl_get_and_describe_show_events(srv: ApiServer, name: str) -> None:
    kc = srv.kubeconfig_path
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    manifest = pod(
        name, sh("main", "sleep 30", livenessProbe=probe), terminationGracePeriodSeconds=1
    )
    kubectl(kc, "create", "--validate=false", "-f", "-", input=json.dumps(manifest))
    wait(srv, name, lambda p: phase(p) == "Failed", 30)
    table = kubectl(kc, "get", "events", "--field-selector", f"involvedObject.name={name}")
    assert table.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    unhealthy = next(ln for ln in table.splitlines() if "Unhealthy" in ln)
    assert "Warning" in unhealthy and f"pod/{name}" in unhealthy
    assert "Liveness probe failed" in unhealthy
    described = kubectl(kc, "describe", "pod", name)
    events = described[described.index("Events:") :]
    assert "default-scheduler  Successfully assigned" in events
    assert "Container main failed liveness probe" in events
    kubectl(kc, "delete", "pod", name)
