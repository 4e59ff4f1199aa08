"""A run's end does not wait for the kubelet to close its followed log streams."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import TASKS, needs_server, pods, run

LATE = 6.0  # how long after its container the server keeps a followed log open here


@needs_server
def test_logs_are_complete_without_waiting_for_the_streams_to_end(
    srv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real kubelet ends a followed log about a second after its container stopped.
    Once the pod has finished, podtask reads what a stream has not delivered yet
    instead of waiting for it: the run ends well before the streams would, and every
    line is saved once."""
    from podtask.testing.apiserver import server

    monkeypatch.setattr(server, "FOLLOW_END_DELAY", LATE)
    started = time.monotonic()
    result = run(TASKS, "greet", inputs={"name": "late"})
    elapsed = time.monotonic() - started
    assert result.phase == "SUCCEEDED", result.message
    logs = Path(result.run_dir) / "logs"
    assert (logs / "primary.log").read_text().count("greeting late\n") == 1
    assert (logs / "helper.log").read_text().count("helper up\n") == 1
    assert elapsed < LATE, f"the run took {elapsed:.1f} s: it waited for the log streams"
    assert pods(srv) == []
