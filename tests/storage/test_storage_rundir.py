from __future__ import annotations

from pathlib import Path

import pytest

from podtask._errors import SpecError
from podtask._storage import RunDir, new_run_id, podtask_home, write_json_atomic


def test_layout(home: Path) -> None:
    run_id = new_run_id("demo")
    rd = RunDir.create(podtask_home(), run_id)
    root = home / "runs" / run_id
    assert rd.path == root and rd.run_id == run_id
    assert rd.inputs_json == root / "inputs.json"
    assert rd.pod_yaml == root / "pod.yaml"
    assert rd.task_json == root / "task.json"
    assert rd.outputs_dir == root / "outputs"
    assert rd.outputs_json == root / "outputs" / "outputs.json"
    assert rd.blobs_dir == root / "outputs" / "blobs"
    assert rd.error_json == root / "error.json"
    assert rd.logs_dir == root / "logs"
    assert rd.log_path("main") == root / "logs" / "main.log"
    assert rd.events_jsonl == root / "events.jsonl"
    assert rd.blobs_dir.is_dir() and rd.logs_dir.is_dir()


def test_create_twice_fails_and_open_finds_it(home: Path) -> None:
    rd = RunDir.create(home, "r-1")
    with pytest.raises(SpecError, match="already exists"):
        RunDir.create(home, "r-1")
    assert RunDir.open(home, "r-1") == rd


def test_open_missing_has_hint(home: Path) -> None:
    with pytest.raises(SpecError, match="podtask runs") as info:
        RunDir.open(home, "nope")
    assert info.value.hint and "podtask runs" in info.value.hint


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", "", "Main", "x" * 64, "log.txt", "-a"])
def test_bad_container_name(home: Path, bad: str) -> None:
    rd = RunDir.create(home, "r-1")
    with pytest.raises(SpecError, match="DNS-1123"):
        rd.log_path(bad)


@pytest.mark.parametrize("bad", ["../x", "A", "a/b"])
def test_bad_run_id(home: Path, bad: str) -> None:
    with pytest.raises(SpecError):
        RunDir.create(home, bad)
    with pytest.raises(SpecError):
        RunDir.open(home, bad)


def test_outputs_and_error_documents(home: Path) -> None:
    rd = RunDir.create(home, "r-1")
    assert rd.read_outputs() is None and rd.read_error() is None
    write_json_atomic(rd.outputs_json, {"out": 1})
    write_json_atomic(rd.error_json, {"kind": "ValueError"})
    assert rd.read_outputs() == {"out": 1}
    assert rd.read_error() == {"kind": "ValueError"}


def test_events_append_and_torn_line(home: Path) -> None:
    rd = RunDir.create(home, "r-1")
    assert rd.read_events() == []
    rd.append_event({"event": "created"})
    rd.append_event({"event": "started", "time": 5.0})
    with rd.events_jsonl.open("a") as f:
        f.write('{"event": "half')  # a crash mid-append
    events = rd.read_events()
    assert [e["event"] for e in events] == ["created", "started"]
    assert isinstance(events[0]["time"], float) and events[1]["time"] == 5.0
