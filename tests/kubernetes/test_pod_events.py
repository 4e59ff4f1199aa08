"""The pod's Events lend the kubelet's words to a verdict the Pod's status cannot give."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from podtask._lifecycle import TERMINATED, ContainerStatus
from podtask._run import Runner, RunOptions
from podtask.engines.kubernetes import pod_events
from podtask.engines.kubernetes.engine import KubernetesEngine
from tests.kubernetes.conftest import describe, needs_server, pods, run

CONFORMANCE = Path(__file__).parent.parent / "conformance" / "tasks" / "conformance_tasks.py"


def _event(reason: str, message: str, container: str | None, at: str) -> dict[str, Any]:
    ref: dict[str, Any] = {"kind": "Pod", "name": "p", "uid": "u"}
    if container:
        ref["fieldPath"] = f"spec.containers{{{container}}}"
    return {
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "type": "Warning" if reason == "Unhealthy" else "Normal",
        "lastTimestamp": at,
    }


def test_probe_kill_is_read_from_the_primary_s_unhealthy_event() -> None:
    events = pod_events.parse(
        [
            _event(
                "Killing",
                "Container primary failed liveness probe",
                "primary",
                "2026-01-01T00:00:03Z",
            ),
            _event("Unhealthy", "Liveness probe failed: boom", "primary", "2026-01-01T00:00:02Z"),
            _event("Unhealthy", "Readiness probe failed: slow", "primary", "2026-01-01T00:00:01Z"),
            _event("Unhealthy", "Liveness probe failed: other", "side", "2026-01-01T00:00:02Z"),
            {
                "involvedObject": {"kind": "Pod"},
                "reason": "Scheduled",
                "message": "m",
                "eventTime": "2026-01-01T00:00:00.250000Z",
            },
        ]
    )
    assert next(e.reason for e in events) == "Scheduled" and events[0].time is not None
    assert pod_events.probe_kill(events, "primary") == "Liveness probe failed: boom"
    assert pod_events.probe_kill(events, "nobody") is None
    killed = ContainerStatus("primary", state=TERMINATED, exit_code=143, reason="Error")
    assert pod_events.needs_events(killed)
    assert not pod_events.needs_events(ContainerStatus("primary", state=TERMINATED, exit_code=1))
    assert not pod_events.needs_events(
        ContainerStatus("primary", state=TERMINATED, exit_code=137, reason="OOMKilled")
    )


@pytest.mark.slow
@needs_server
def test_describe_shows_the_kubelet_s_events(srv: Any) -> None:
    result = run(CONFORMANCE, "primary_fails_liveness", sidecar_mode="native")
    assert (result.phase.value, result.reason) == ("FAILED", "Unhealthy")
    assert result.message.startswith("Liveness probe failed: ")
    out = describe(result.run_id)
    lines = out.splitlines()
    unhealthy = [ln for ln in lines if "Unhealthy" in ln and "Liveness probe failed" in ln]
    assert unhealthy and "container=primary" in unhealthy[0]
    assert any("Killing" in ln and "failed liveness probe" in ln for ln in lines)
    assert pods(srv) == []


@pytest.mark.slow
@needs_server
def test_without_events_permission_the_run_still_works(srv: Any) -> None:
    """No ``events: list`` in the Role (403): the same run, with the status's words only."""
    srv.faults.forbid("list", "events")
    notices: list[str] = []
    options = RunOptions(
        engine=KubernetesEngine(kubeconfig=os.environ["KUBECONFIG"]),
        sidecar_mode="managed",
        notice=notices.append,
    )
    result = Runner(str(CONFORMANCE), "primary_fails_liveness", options).run()
    assert result.phase.value == "FAILED"
    assert result.reason == "Error"  # all a Pod's status can say: exit 143 or 137
    assert any(
        "the pod's events were not read: forbidden: cannot list events" in n for n in notices
    )
    assert pods(srv) == []


@pytest.mark.slow
@needs_server
def test_a_detached_run_settled_by_runs_gets_the_same_reason(srv: Any) -> None:
    import time

    from podtask._storage import RunStore, podtask_home
    from podtask.cli.kube_cmd import refresh_runs

    detached = run(CONFORMANCE, "primary_fails_liveness", sidecar_mode="native", detach=True)
    assert detached.reason == "Detached"
    deadline = time.time() + 60
    phase = "RUNNING"
    while time.time() < deadline and phase == "RUNNING":
        time.sleep(0.5)
        with RunStore.in_home(podtask_home()) as store:
            phase = refresh_runs(store)[detached.run_id]
    with RunStore.in_home(podtask_home()) as store:
        record = store.get(detached.run_id)
    assert (record.phase, record.reason) == ("FAILED", "Unhealthy"), record.message
    assert pods(srv) == []
