"""The diamond on the other engines: the kubernetes engine (test API server) and podman."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podtask._storage.flows import FlowStore
from tests.conformance.conftest import PYTHON_IMAGE, podman_problem
from tests.flow.conftest import FLOWS, flow, node
from tests.kubernetes.conftest import needs_server, server_130, srv  # noqa: F401 - fixtures
from tests.run.conftest import needs_namespaces, wait_for

K8S = ("--engine", "kubernetes", "--json")


def _check_diamond(doc: dict[str, Any], engine: str) -> None:
    assert doc["phase"] == "SUCCEEDED", doc
    assert doc["engine"] == engine
    assert doc["outputs"] == {"o0": (5 * 2) + (5 * 3)}
    b, c = node(doc, "b"), node(doc, "c")
    assert b["started_at"] < c["ended_at"] and c["started_at"] < b["ended_at"], (b, c)


@needs_namespaces
@needs_server
@pytest.mark.slow
def test_diamond_on_the_kubernetes_engine(srv: Any, marks: Path) -> None:  # noqa: F811
    rc, doc, err = flow(
        "diamond",
        "--x",
        "4",
        "--engine",
        "kubernetes",
        env={"KUBECONFIG": str(srv.kubeconfig_path)},
    )
    assert rc == 0, err
    _check_diamond(doc, "kubernetes")


@pytest.mark.podman
@pytest.mark.slow
def test_diamond_on_podman(marks: Path) -> None:
    problem = podman_problem()
    if problem:
        pytest.skip(problem)
    rc, doc, err = flow(
        "diamond",
        "--x",
        "4",
        "--engine",
        "podman",
        "--image",
        PYTHON_IMAGE,
        timeout=600,
    )
    assert rc == 0, err
    _check_diamond(doc, "podman")


@needs_namespaces
@needs_server
@pytest.mark.slow
def test_kubernetes_node_in_flight_is_reattached_after_kill_9(
    srv: Any,  # noqa: F811
    marks: Path,
) -> None:
    env = {**os.environ, "KUBECONFIG": str(srv.kubeconfig_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(FLOWS), "resumable", "--x", "1", *K8S],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for(lambda: (marks / "gate-started").exists(), timeout=90, what="wait_gate running")
        with FlowStore.in_home() as store:
            wf = store.list(1)[0]
            before = {n.node_id: n for n in store.nodes(wf.run_id)}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (marks / "gate-open").touch()  # the pod outlived its client and now finishes on its own
    r = subprocess.run(
        [sys.executable, "-m", "podtask", "attach", wf.run_id, "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["outputs"] == {"first": 2, "second": 7}
    assert node(doc, "a")["run_id"] == before["a"].child_run_id
    assert node(doc, "wait_gate")["run_id"] == before["wait_gate"].child_run_id  # re-attached
    assert len((marks / "gate-started").read_text().splitlines()) == 1
