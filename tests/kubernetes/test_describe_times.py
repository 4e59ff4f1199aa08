"""Issue 10 item 11: describe's container times say which clock they come from, and use the
finest one podtask has (a kubelet's are whole seconds, as the test API server's are)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from podtask.cli.show_times import LEGEND, best_times, time_cell
from tests.kubernetes.conftest import TASKS, describe, needs_server, pods, run


def test_the_finest_source_wins_per_cell() -> None:
    events = [
        {"event": "started", "container": "p", "attempt": 1, "time": 10.4, "time_source": "watch"},
        {
            "event": "task-started",
            "container": "p",
            "attempt": 1,
            "time": 10.2,
            "time_source": "entrypoint",
        },
        {"event": "exited", "container": "p", "attempt": 1, "time": 11.0, "time_source": "kubelet"},
        {"event": "exited", "container": "s", "attempt": 1, "time": 11.5},  # no source: local
    ]
    best = best_times(events)
    assert best[(1, "p", "started")] == (10.2, "entrypoint")
    assert best[(1, "p", "finished")] == (11.0, "kubelet")
    assert (1, "s", "finished") not in best

    def rel(t: float | None) -> str:
        return "-" if t is None else f"{t:.3f}"

    assert time_cell(10.0, best[(1, "p", "started")], on_cluster=True, rel=rel) == (
        "10.200 e",
        True,
    )
    assert time_cell(10.0, None, on_cluster=True, rel=rel) == ("10.000 k", True)
    assert time_cell(10.0, None, on_cluster=False, rel=rel) == ("10.000", False)
    assert time_cell(None, None, on_cluster=True, rel=rel) == ("-", False)


@pytest.mark.slow
@needs_server
def test_describe_shows_sub_second_times_and_their_source(srv: Any) -> None:
    result = run(TASKS, "greet", inputs={"name": "times"}, sidecar_mode="native")
    assert result.phase == "SUCCEEDED", result.message
    # The server, like a kubelet, reports whole seconds.
    primary = next(c for c in result.containers if c.name == "primary")
    assert primary.started_at is not None and primary.started_at == int(primary.started_at)
    out = describe(result.run_id)
    row = next(ln for ln in out.splitlines() if "primary (primary)" in ln)
    cells = re.findall(r"([+-]\d+\.\d{3})s ([ewk])\b", row)
    assert len(cells) == 2, row  # STARTED and FINISHED, each with its source
    assert {source for _t, source in cells} <= {"e", "w"}  # finer than the kubelet's
    started, finished = (float(t) for t, _s in cells)
    assert started <= finished
    assert LEGEND in out.replace("\n  ", " ")
    assert pods(srv) == []


def test_events_are_listed_in_time_order() -> None:
    from podtask.cli.show_times import in_time_order

    events = [
        {"event": "attempt", "time": 1.0},
        {"event": "exited", "time": 3.0},
        {"event": "note"},  # no time: stays after the event before it
        {"event": "k8s-event", "time": 2.0},
    ]
    assert [e["event"] for e in in_time_order(events)] == ["attempt", "k8s-event", "exited", "note"]
