"""Many writers at once, and a writer killed mid-run: no lock errors, no corruption."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from podtask._storage import ContainerRecord, RunRecord, RunStore

UPDATES = 50

# Each process opens the (possibly not yet created) db, races the others on
# schema creation, then writes its own run many times.
_PROCESS_SCRIPT = textwrap.dedent(
    """
    import sys
    from podtask._storage import ContainerRecord, RunRecord, RunStore

    db, run_id, updates = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with RunStore(db) as store:
        store.create(RunRecord(run_id=run_id, task="t", source="s.py", engine="local",
                               phase="RUNNING", run_dir="/r"))
        for i in range(1, updates + 1):
            store.update(run_id, attempts=i, message=f"update {i}")
            if i % 10 == 0:
                store.set_container(ContainerRecord(run_id=run_id, attempt=i, name="main",
                                                    kind="regular", is_primary=True))
            store.list(limit=5)
    print("ok")
    """
)

_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from podtask._storage import ContainerRecord, RunRecord, RunStore

    store = RunStore(sys.argv[1])
    store.create(RunRecord(run_id="victim", task="t", source="s.py", engine="local",
                           phase="RUNNING", run_dir="/r"))
    i = 0
    while True:
        i += 1
        store.update("victim", attempts=i, message="x" * 2000)
        store.set_container(ContainerRecord(run_id="victim", attempt=i, name="main",
                                            kind="regular"))
        if i == 20:
            print("ready", flush=True)
    """
)


def _record(run_id: str) -> RunRecord:
    return RunRecord(
        run_id=run_id, task="t", source="s.py", engine="local", phase="RUNNING", run_dir="/r"
    )


def _thread_worker(store: RunStore, run_id: str, errors: list[BaseException]) -> None:
    try:
        store.create(_record(run_id))
        for i in range(1, UPDATES + 1):
            store.update(run_id, attempts=i)
            if i % 10 == 0:
                store.set_container(
                    ContainerRecord(run_id=run_id, attempt=i, name="main", kind="regular")
                )
    except BaseException as exc:
        errors.append(exc)


def test_threads_and_processes_write_concurrently(home: Path) -> None:
    db = home / "podtask.db"
    home.mkdir()
    env = {**os.environ, "PODTASK_HOME": str(home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, str(db), f"proc-{i}", str(UPDATES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(4)
    ]
    errors: list[BaseException] = []
    own_stores: list[RunStore] = []
    with RunStore(db) as shared:
        threads = []
        for i in range(20):
            # Half share one store (one connection, in-process lock); half have
            # their own connection and contend through SQLite like processes.
            if i % 2:
                store = shared
            else:
                store = RunStore(db)
                own_stores.append(store)
            threads.append(
                threading.Thread(target=_thread_worker, args=(store, f"thread-{i}", errors))
            )
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        outputs = [p.communicate(timeout=120) for p in procs]
        for store in own_stores:
            store.close()

        assert errors == []
        for p, (out, err) in zip(procs, outputs, strict=True):
            assert p.returncode == 0, err
            assert out.strip() == "ok", err
        ids = [f"thread-{i}" for i in range(20)] + [f"proc-{i}" for i in range(4)]
        for run_id in ids:
            rec = shared.get(run_id)
            assert rec.attempts == UPDATES
            assert [c.attempt for c in rec.containers] == [10, 20, 30, 40, 50]
        assert len(shared.list(limit=100)) == 24


def test_kill_9_mid_write_leaves_a_consistent_db(home: Path) -> None:
    home.mkdir()
    db = home / "podtask.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with RunStore(db) as store:
        rec = store.get("victim")
        assert rec.attempts >= 20
        # Every committed update wrote its container in the same transaction order.
        assert len(rec.containers) in (rec.attempts, rec.attempts - 1)
        store.update("victim", phase="LOST")  # and it is still writable
        assert store.get("victim").phase == "LOST"
