from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podtask._errors import InfrastructureError, SpecError
from podtask._storage import (
    SCHEMA_VERSION,
    ContainerRecord,
    RunRecord,
    RunStore,
    current_process_identity,
)


def _record(run_id: str, **kw: object) -> RunRecord:
    base: dict[str, object] = {
        "run_id": run_id,
        "task": "demo",
        "source": "/src/demo.py",
        "engine": "local",
        "phase": "QUEUED",
        "run_dir": f"/runs/{run_id}",
    }
    base.update(kw)
    return RunRecord(**base)  # type: ignore[arg-type]


def test_schema_created_and_wal(store: RunStore, home: Path) -> None:
    conn = sqlite3.connect(home / "podtask.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    with RunStore(home / "podtask.db") as again:  # reopening does not recreate
        assert again.list() == []


def test_newer_schema_refused(home: Path) -> None:
    home.mkdir()
    conn = sqlite3.connect(home / "podtask.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(InfrastructureError, match="newer than"):
        RunStore(home / "podtask.db")


def test_create_get_update(store: RunStore) -> None:
    rec = _record("demo-1", created_at=100.0, attempts=1, outputs_json=None)
    store.create(rec)
    got = store.get("demo-1")
    assert got == RunRecord(**{**rec.__dict__, "updated_at": 100.0})
    before = time.time()
    store.update("demo-1", phase="SUCCEEDED", exit_code=0, outputs_json='{"o": 1}', ended_at=5.0)
    got = store.get("demo-1")
    assert (got.phase, got.exit_code, got.outputs_json, got.ended_at) == (
        "SUCCEEDED",
        0,
        '{"o": 1}',
        5.0,
    )
    assert got.updated_at is not None and got.updated_at >= before
    assert got.created_at == 100.0


def test_create_duplicate(store: RunStore) -> None:
    store.create(_record("demo-1"))
    with pytest.raises(SpecError, match="already exists"):
        store.create(_record("demo-1"))


def test_update_rejects_unknown_column_and_run(store: RunStore) -> None:
    store.create(_record("demo-1"))
    with pytest.raises(TypeError, match="bogus"):
        store.update("demo-1", bogus=1)
    with pytest.raises(TypeError, match="run_id"):
        store.update("demo-1", run_id="x")
    with pytest.raises(SpecError, match="invalid update"):
        store.update("demo-1", phase=None)
    with pytest.raises(SpecError, match="unknown run 'nope'"):
        store.update("nope", phase="RUNNING")


def test_containers_upsert_and_order(store: RunStore) -> None:
    store.create(_record("demo-1"))
    store.set_container(ContainerRecord(run_id="demo-1", attempt=1, name="main", kind="regular"))
    store.set_container(ContainerRecord(run_id="demo-1", attempt=1, name="setup", kind="init"))
    store.set_container(
        ContainerRecord(
            run_id="demo-1",
            attempt=1,
            name="main",
            kind="regular",
            is_primary=True,
            started_at=1.0,
            finished_at=2.0,
            exit_code=137,
            signal=9,
            reason="OOMKilled",
        )
    )
    store.set_container(ContainerRecord(run_id="demo-1", attempt=2, name="main", kind="regular"))
    containers = store.get("demo-1").containers
    assert [(c.attempt, c.name) for c in containers] == [(1, "setup"), (1, "main"), (2, "main")]
    main = containers[1]
    assert main.is_primary is True and main.exit_code == 137 and main.signal == 9
    assert main.reason == "OOMKilled" and main.finished_at == 2.0
    with pytest.raises(SpecError, match="unknown run"):
        store.set_container(ContainerRecord(run_id="ghost", attempt=1, name="m", kind="regular"))


def test_prefix_lookup(store: RunStore) -> None:
    store.create(_record("train-20260101-000000-000001-aaaaaa"))
    store.create(_record("train-20260101-000000-000002-bbbbbb"))
    store.create(_record("eval-20260101-000000-000003-cccccc"))
    assert store.get("ev").run_id == "eval-20260101-000000-000003-cccccc"
    assert store.get("train-20260101-000000-000002").run_id.endswith("bbbbbb")
    with pytest.raises(SpecError, match="ambiguous") as info:
        store.get("train-")
    assert "aaaaaa" in str(info.value) and "bbbbbb" in str(info.value)
    with pytest.raises(SpecError, match="unknown run 'zzz'"):
        store.get("zzz")
    with pytest.raises(SpecError):
        store.get("%")  # no LIKE wildcards
    with pytest.raises(SpecError):
        store.get("")


def test_list_newest_first_with_limit(store: RunStore) -> None:
    for i in range(30):
        store.create(_record(f"r-{i:02d}", created_at=1000.0 + i))
    store.set_container(ContainerRecord(run_id="r-29", attempt=1, name="main", kind="regular"))
    runs = store.list()
    assert [r.run_id for r in runs] == [f"r-{i:02d}" for i in range(29, 9, -1)]
    assert [c.name for c in runs[0].containers] == ["main"]
    assert len(store.list(limit=5)) == 5


def test_reap_lost(store: RunStore) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from podtask._storage import current_process_identity as c; print(*c())",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    dead_pid, dead_start = int(out[0]), int(out[1])
    me_pid, me_start = current_process_identity()
    store.create(_record("dead", phase="RUNNING", owner_pid=dead_pid, owner_start_time=dead_start))
    store.create(_record("live", phase="RUNNING", owner_pid=me_pid, owner_start_time=me_start))
    # Our pid, but another start time: the owner died and the pid was reused.
    store.create(
        _record("reused", phase="RUNNING", owner_pid=me_pid, owner_start_time=me_start + 1)
    )
    store.create(_record("done", phase="SUCCEEDED", owner_pid=dead_pid, owner_start_time=0))
    store.create(_record("ownerless", phase="RUNNING"))
    before = time.time()
    lost = store.reap_lost()
    assert sorted(lost) == ["dead", "reused"]
    dead = store.get("dead")
    assert (dead.phase, dead.reason) == ("LOST", "PodtaskDied")
    assert dead.ended_at is not None and dead.ended_at >= before
    assert store.get("live").phase == "RUNNING"
    assert store.get("done").phase == "SUCCEEDED"
    assert store.get("ownerless").phase == "RUNNING"
    assert store.reap_lost() == []  # LOST is terminal
