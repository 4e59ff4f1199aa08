"""Several podtask processes opening a fresh home at the same moment.

Two first runs at once used to fail one of them with "database is locked":
switching a new database to WAL needs an exclusive lock, and SQLite answers
that race at once instead of calling the busy handler.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from pathlib import Path

PROCESSES = 6
ROUNDS = 20


def _open_both(home: str, start_at: float) -> str | None:
    from podtask._storage import RunStore
    from podtask._storage.flows import FlowStore

    while time.time() < start_at:  # all of them open in the same millisecond
        pass
    try:
        with RunStore.in_home(Path(home)) as store:
            store.list(1)
        FlowStore.in_home(Path(home))
    except Exception as exc:
        return repr(exc)
    return None


def test_processes_opening_a_fresh_home_together_all_succeed(tmp_path: Path) -> None:
    failures: list[str] = []
    ctx = multiprocessing.get_context("spawn")  # no fork of the test process's threads
    with ctx.Pool(PROCESSES) as pool:
        pool.starmap(_open_both, [(tempfile.mkdtemp(dir=tmp_path), 0.0)] * PROCESSES)  # warm
        for _ in range(ROUNDS):
            home = tempfile.mkdtemp(dir=tmp_path)
            start_at = time.time() + 0.1
            results = pool.starmap(_open_both, [(home, start_at)] * PROCESSES)
            failures += [r for r in results if r]
    assert failures == []
