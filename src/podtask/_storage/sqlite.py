"""How podtask opens its SQLite databases (runs and workflows): one way, written once.

Many podtask processes share one home, so every connection waits for a
lock rather than failing ("database is locked"), runs in WAL mode (readers
never block the writer) and fsyncs each commit (a finished run's record
survives power loss).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

#: How long a connection waits for another process's lock before it gives up.
BUSY_TIMEOUT_MS = 60_000


def connect(target: str | Path, *, uri: bool = False) -> sqlite3.Connection:
    """A connection that waits for locks, with rows by name and explicit transactions.

    ``check_same_thread`` is off: each store serialises its one connection
    with its own lock.
    """
    conn = sqlite3.connect(
        target,
        uri=uri,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,  # the stores issue BEGIN/COMMIT themselves
        check_same_thread=False,
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def use_wal(conn: sqlite3.Connection) -> None:
    """Foreign keys on, WAL mode, a synchronous commit; waiting out a racing first open.

    Switching a new database to WAL needs an exclusive lock, and SQLite does
    not call the busy handler when two connections that have both read the
    file race for it: it answers "database is locked" at once, to avoid a
    deadlock. Two first runs in a fresh home did exactly that, so the switch
    is retried here until the busy timeout.
    """
    conn.execute("PRAGMA foreign_keys = ON")
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    conn.execute("PRAGMA synchronous = FULL")  # each commit fsynced
