"""What the end of a pod means on a real kubelet (issue 10, items 3-5).

- a stop signal is recorded only for a container podtask signalled while it ran;
- the first decisive verdict wins over what the kubelet reports while tearing
  the pod down after podtask's own delete;
- a timeout is ``Timeout`` whoever fires first, podtask or ``activeDeadlineSeconds``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podtask._lifecycle import decide
from podtask.engines.kubernetes import adapt
from tests.kubernetes.conftest import TASKS, needs_server, pods, run, when_running


def _events(result: Any, kind: str) -> list[dict[str, Any]]:
    lines = (Path(result.run_dir) / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == kind]


@pytest.mark.slow
@needs_server
def test_sidecar_the_kubelet_stopped_gets_no_stop_signal_event(srv: Any) -> None:
    """Native mode: the kubelet ends the sidecar once the primary exits; podtask sends none."""
    result = run(TASKS, "greet", sidecar_mode="native")
    assert result.phase == "SUCCEEDED", result.message
    assert _events(result, "stop-signal") == []
    assert pods(srv) == []


@pytest.mark.slow
@needs_server
def test_containers_podtask_stops_get_one_event_each(srv: Any) -> None:
    result = run(TASKS, "too_slow")
    assert result.reason == "Timeout", result.message
    signalled = sorted(e["container"] for e in _events(result, "stop-signal"))
    assert signalled == ["helper", "primary"]
    assert all(e["attempt"] == 1 and e["time"] for e in _events(result, "stop-signal"))


@pytest.mark.slow
@needs_server
def test_kubectl_delete_mid_run_is_pod_deleted(srv: Any) -> None:
    """A graceful delete by someone else: the primary then dies by SIGTERM (143), and the
    re-check after podtask's own clean-up must not turn ``PodDeleted`` into ``Error``."""

    def delete(pod: dict[str, Any]) -> None:
        srv.faults.delete_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], 2)

    thread = when_running(srv, delete)
    # No system retries: a pod deleted by someone else is otherwise retried (and succeeds).
    result = run(TASKS, "greet", inputs={"seconds": 20.0}, system_retries=0)
    thread.join()
    assert result.phase == "FAILED" and result.reason == "PodDeleted", result.message
    assert pods(srv) == []


def _doc(primary_code: int, *, mode_managed: bool) -> dict[str, Any]:
    term = {"exitCode": primary_code, "reason": "Error", "startedAt": "2024-05-01T10:00:00Z"}
    statuses = [{"name": "primary", "state": {"terminated": term}}]
    spec: dict[str, Any] = {"containers": [{"name": "primary"}]}
    if mode_managed:
        spec["containers"].append({"name": "db"})
        statuses.append({"name": "db", "state": {"terminated": dict(term, exitCode=143)}})
    status = {
        "phase": "Failed",
        "reason": "DeadlineExceeded",
        "message": "Pod was active on the node longer than the specified deadline",
        "containerStatuses": statuses,
    }
    return {"metadata": {"name": "p"}, "spec": spec, "status": status}


@pytest.mark.parametrize("managed", [True, False])
def test_kubelet_deadline_first_is_still_timeout(managed: bool) -> None:
    """activeDeadlineSeconds fired before podtask's own deadline: the primary exited 143."""
    status = adapt.pod_status(_doc(143, mode_managed=managed), primary="primary", managed=managed)
    verdict = decide(status)
    assert verdict.reason == "Timeout", verdict.message


@pytest.mark.slow
@needs_server
def test_describe_shows_the_pod_as_created(srv: Any, strict_schema: Any) -> None:
    """Issue 10 item 10: the recorded manifest is the one sent, entrypoint, env and deadline."""
    import yaml

    result = run(TASKS, "too_slow")
    recorded = yaml.safe_load((Path(result.run_dir) / "pod.yaml").read_text())
    assert recorded == strict_schema[-1]
    assert recorded["spec"]["activeDeadlineSeconds"] >= 1
    primary = next(c for c in recorded["spec"]["containers"] if c["name"] == "primary")
    assert {"PODTASK_RUN_ID", "PODTASK_ATTEMPT"} <= {e["name"] for e in primary["env"]}


LIVE_ARGS = ("greet", "--engine", "kubernetes", "--name", "live", "--seconds", "6")


@pytest.mark.slow
@needs_server
def test_logs_stream_live_while_attached(srv: Any) -> None:
    """Issue 10 item 9: `run` prints a container's line while the pod still runs."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(TASKS), *LIVE_ARGS],
        env={**os.environ, "KUBECONFIG": str(srv.kubeconfig_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if "[primary] greeting live" in line:
                # The primary sleeps 6 s after this line: it must still be running.
                states = [
                    s["state"]
                    for p in pods(srv)
                    for s in p.get("status", {}).get("containerStatuses") or []
                    if s["name"] == "primary"
                ]
                assert states and "running" in states[0], f"line printed late: {states}"
                break
        else:
            pytest.fail("the primary's line never came")
    finally:
        _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert pods(srv) == []


@pytest.mark.parametrize(
    ("kubelet", "seen", "expected"),
    [
        (100.0, 100.4, (100.4, "watch")),  # seen within the kubelet's second: finer
        (100.0, 102.5, (100.0, "kubelet")),  # seen late (attach): the kubelet's time
        (100.25, 100.4, (100.25, "kubelet")),  # a kubelet with fractions is exact
        (None, 100.4, (100.4, "watch")),
    ],
)
def test_best_time_and_its_source(
    kubelet: float | None, seen: float, expected: tuple[float, str]
) -> None:
    from podtask.engines.kubernetes.engine import _best_time

    assert _best_time(kubelet, seen) == {"time": expected[0], "time_source": expected[1]}


@pytest.mark.slow
@needs_server
def test_events_say_where_their_time_comes_from(srv: Any) -> None:
    """Issue 10 item 11: container events carry a time finer than whole seconds where podtask
    has one, and name its source."""
    result = run(TASKS, "greet", inputs={"name": "t", "seconds": 0.5})
    assert result.phase == "SUCCEEDED", result.message
    events = _events(result, "started") + _events(result, "exited")
    assert events and all(e["time_source"] in ("watch", "kubelet") for e in events)
    assert any(e["time_source"] == "watch" for e in events)
