"""Run records in SQLite: what ``podtask runs`` lists and ``podtask status`` shows.

One database file, ``<home>/podtask.db``, shared by every podtask process on
the machine. WAL mode lets readers proceed while one process writes, a
generous ``busy_timeout`` makes concurrent writers queue instead of failing
with "database is locked", and every write is one ``BEGIN IMMEDIATE``
transaction (taking the write lock up front avoids the deadlock a deferred
transaction hits when it upgrades from read to write). A writer killed with
``kill -9`` mid-transaction leaves an uncommitted WAL tail that SQLite
discards on the next open.

Schema (version 1, stored in ``PRAGMA user_version``)::

    runs                                 one row per run
      run_id TEXT PRIMARY KEY            DNS-1123 label, also the pod name
      task, source, engine TEXT          task name, defining file, engine name
      phase TEXT, reason TEXT, message TEXT
                                         plain strings; podtask._lifecycle owns their meaning
      created_at, updated_at REAL        epoch seconds; updated_at set on every write
      ended_at REAL                      NULL until the run is terminal
      attempts INTEGER                   attempts started so far
      owner_pid, owner_start_time INTEGER
                                         the podtask process driving the run (see procs.py)
      run_dir TEXT                       absolute path of the run directory
      exit_code INTEGER                  the primary container's, when known
      outputs_json TEXT                  the outputs document as JSON text, or NULL
      index runs_created_at(created_at), runs_phase(phase)

    containers                           one row per container per attempt
      run_id TEXT -> runs ON DELETE CASCADE, attempt INTEGER, name TEXT
                                         PRIMARY KEY (run_id, attempt, name)
      kind TEXT                          "init" | "native-sidecar" | "regular"
      is_primary INTEGER                 0 / 1
      started_at, ready_at, finished_at REAL
      exit_code, signal INTEGER, reason, message TEXT

A full disk: opening only reads (the schema is written only when it is
missing or old), and when SQLite cannot even map its WAL index the database
is opened read-only (``mode=ro``, then ``immutable``), so ``runs`` and
``describe`` still answer. A write on a full disk checkpoints the WAL, frees
the home's reserve (``space.py``) and tries once more, then raises
``StorageFull``.

Schema changes add a step to ``_MIGRATIONS`` and bump the version; a database
from a newer podtask is refused rather than guessed at.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from podtask._errors import InfrastructureError, SpecError, StorageFull
from podtask._storage.home import podtask_home
from podtask._storage.procs import process_alive
from podtask._storage.rundir import OWNER_FILE, owner_of
from podtask._storage.space import full_error, is_full, release_reserve, retry_when_full
from podtask._storage.sqlite import connect, use_wal

T = TypeVar("T")

TERMINAL_PHASES = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "LOST"})
LOST = "LOST"
LOST_REASON = "PodtaskDied"
DB_NAME = "podtask.db"
# Long enough for 100 processes queueing behind each other's short transactions.
_LIST_HINT = "run `podtask runs` to list runs"
RUNS_DIR = "runs"  # next to the database: one folder per run (rundir.py)
ORPHAN_GRACE = 600.0  # seconds a run directory may exist before its record does

_SCHEMA_V1 = """
CREATE TABLE runs (
    run_id           TEXT PRIMARY KEY,
    task             TEXT NOT NULL,
    source           TEXT NOT NULL,
    engine           TEXT NOT NULL,
    phase            TEXT NOT NULL,
    reason           TEXT,
    message          TEXT,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    ended_at         REAL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    owner_pid        INTEGER,
    owner_start_time INTEGER,
    run_dir          TEXT NOT NULL,
    exit_code        INTEGER,
    outputs_json     TEXT
);
CREATE INDEX runs_created_at ON runs (created_at);
CREATE INDEX runs_phase ON runs (phase);
CREATE TABLE containers (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    is_primary  INTEGER NOT NULL,
    started_at  REAL,
    ready_at    REAL,
    finished_at REAL,
    exit_code   INTEGER,
    signal      INTEGER,
    reason      TEXT,
    message     TEXT,
    PRIMARY KEY (run_id, attempt, name)
);
"""

# _MIGRATIONS[n] takes a database from version n to n + 1.
_MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1,)
SCHEMA_VERSION = len(_MIGRATIONS)


@dataclass(kw_only=True, frozen=True)
class ContainerRecord:
    """One container of one attempt, as last recorded."""

    run_id: str
    attempt: int
    name: str
    kind: str  # "init" | "native-sidecar" | "regular"
    is_primary: bool = False
    started_at: float | None = None
    ready_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None
    message: str | None = None


@dataclass(kw_only=True, frozen=True)
class RunRecord:
    """One run as stored; ``containers`` is filled on reads and ignored by ``create``."""

    run_id: str
    task: str
    source: str
    engine: str
    phase: str
    run_dir: str
    reason: str | None = None
    message: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float | None = None  # None on create means "same as created_at"
    ended_at: float | None = None
    attempts: int = 0
    owner_pid: int | None = None
    owner_start_time: int | None = None
    exit_code: int | None = None
    outputs_json: str | None = None
    containers: list[ContainerRecord] = field(default_factory=list)


_RUN_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(RunRecord) if f.name != "containers"
)
_CONTAINER_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ContainerRecord))
# Columns ``update`` may set: the key is fixed and updated_at is ours.
_UPDATABLE = frozenset(_RUN_COLUMNS) - {"run_id", "updated_at"}
_TERMINAL_SQL = ", ".join(f"'{p}'" for p in sorted(TERMINAL_PHASES))


def _db_error(exc: sqlite3.Error, path: Path) -> InfrastructureError:
    return InfrastructureError(f"run database {str(path)!r}: {exc}")


class RunStore:
    """Run records in one SQLite file; safe to share across threads and processes.

    One connection per store, guarded by a lock so threads of one process
    take turns; other processes wait on SQLite's own lock (busy_timeout).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()  # re-entered when a read-only store reopens to write
        #: True when the disk was full at open: reads work; a write first frees the reserve.
        self.read_only = False
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._open()
        except sqlite3.Error as exc:
            if not (is_full(exc, self.path.parent) and self.path.exists()):
                raise _db_error(exc, self.path) from exc
            self._open_read_only(exc)
        except OSError as exc:
            raise InfrastructureError(
                f"cannot open run database {str(self.path)!r}: {exc}"
            ) from exc

    def _open(self) -> None:
        conn = connect(self.path)
        try:
            use_wal(conn)
            self._conn = conn
            self._migrate()
        except BaseException:
            conn.close()
            raise

    def _open_read_only(self, cause: sqlite3.Error) -> None:
        """A full disk: open for reading only, so ``runs`` and ``describe`` still answer.

        SQLite's read-only mode still needs the WAL index to grow; when even
        that fails, ``immutable`` reads the database file as it is, without
        the WAL's last, not yet checkpointed transactions.
        """
        uri = "file:" + quote(str(self.path.resolve()))
        for params in ("?mode=ro", "?immutable=1"):
            conn = connect(uri + params, uri=True)
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                conn.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
            except sqlite3.Error:
                conn.close()
                continue
            if version != SCHEMA_VERSION:
                conn.close()
                break
            self._conn = conn
            self.read_only = True
            return
        raise full_error(self.path.parent, "open the run database") from cause

    @classmethod
    def in_home(cls, home: Path | None = None) -> RunStore:
        """The store at ``<home>/podtask.db`` (default: ``podtask_home()``)."""
        return cls((home if home is not None else podtask_home()) / DB_NAME)

    # -- plumbing ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _transact(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one write transaction: all of it is committed, or none of it.

        On a full disk the transaction is rolled back, the WAL checkpointed
        and the home's reserve freed, and ``body`` runs once more (see
        ``space.py``); then ``StorageFull``.
        """
        if self.read_only:
            self._reopen_for_writing()

        def attempt() -> T:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = body(self._conn)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._conn.rollback()
                    raise
                return result

        try:
            return retry_when_full(
                self.path, "update the run database", attempt, cleanup=self._checkpoint
            )
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise _db_error(exc, self.path) from exc

    def _reopen_for_writing(self) -> None:
        """Opened read-only on a full disk, asked to write: spend the reserve on it, or refuse."""
        home = self.path.parent
        if not release_reserve(home):
            raise full_error(home, "update the run database")
        with self._lock:
            self._conn.close()
            try:
                self._open()
            except sqlite3.Error as exc:
                self._open_read_only(exc)
                raise full_error(home, "update the run database") from exc
            self.read_only = False

    def _checkpoint(self) -> None:
        """Move the WAL into the database and truncate it: frees its space on a full disk."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so a record and its containers come from one snapshot."""
        with self._lock:
            try:
                self._conn.execute("BEGIN")
                try:
                    yield self._conn
                finally:
                    self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _db_error(exc, self.path) from exc

    def _migrate(self) -> None:
        """Create or upgrade the schema, once, even with many processes opening at once.

        A current database is only read here: opening must not need to
        write, or a full disk would stop ``runs`` and ``describe`` too.
        """
        if self._version() == SCHEMA_VERSION:
            return

        def upgrade(conn: sqlite3.Connection) -> None:
            version = self._version()
            for step in _MIGRATIONS[version:]:
                for statement in step.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version != SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        self._transact(upgrade)

    def _version(self) -> int:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise InfrastructureError(
                f"run database {str(self.path)!r} has schema version {version}, newer than "
                f"this podtask understands ({SCHEMA_VERSION}); upgrade podtask"
            )
        return version

    # -- writes -----------------------------------------------------------

    def create(self, record: RunRecord) -> None:
        """Insert a new run; ``SpecError`` if the run id is taken.

        On a full disk the run's directory is removed and ``StorageFull``
        raised: a directory without a record would be a run nobody can see.
        """
        values = dataclasses.asdict(record)
        del values["containers"]
        if values["updated_at"] is None:
            values["updated_at"] = values["created_at"]
        columns = ", ".join(_RUN_COLUMNS)
        params = ", ".join(f":{c}" for c in _RUN_COLUMNS)
        try:
            self._transact(
                lambda conn: conn.execute(f"INSERT INTO runs ({columns}) VALUES ({params})", values)
            )
        except sqlite3.IntegrityError as exc:
            raise SpecError(f"run {record.run_id!r} already exists") from exc
        except StorageFull as exc:
            # No record, so no run: its directory goes too (nothing started; CLI exit 2).
            shutil.rmtree(record.run_dir, ignore_errors=True)
            raise StorageFull(str(exc), nothing_started=True) from exc
        # The record names the directory now: its creator mark (for the sweep) is spent.
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(record.run_dir, OWNER_FILE))

    def update(self, run_id: str, /, **fields: Any) -> None:
        """Set some columns of run ``run_id`` (exact id) and bump ``updated_at``.

        Unknown column names raise ``TypeError`` like any bad keyword argument;
        an unknown run raises ``SpecError``.
        """
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise TypeError(f"RunStore.update() got unknown fields: {', '.join(sorted(unknown))}")
        values = dict(fields, updated_at=time.time(), run_id=run_id)
        assignments = ", ".join(f"{c} = :{c}" for c in [*sorted(fields), "updated_at"])
        sql = f"UPDATE runs SET {assignments} WHERE run_id = :run_id"
        try:
            changed = self._transact(lambda conn: conn.execute(sql, values).rowcount)
        except sqlite3.IntegrityError as exc:  # e.g. NULL in a NOT NULL column
            raise SpecError(f"invalid update of run {run_id!r}: {exc}") from exc
        if changed == 0:
            raise SpecError(f"unknown run {run_id!r}", hint=_LIST_HINT)

    def set_container(self, record: ContainerRecord) -> None:
        """Insert or replace one container's record (keyed by run, attempt and name)."""
        values = dataclasses.asdict(record)
        values["is_primary"] = int(record.is_primary)
        columns = ", ".join(_CONTAINER_COLUMNS)
        params = ", ".join(f":{c}" for c in _CONTAINER_COLUMNS)
        keys = {"run_id", "attempt", "name"}
        updates = ", ".join(f"{c} = excluded.{c}" for c in _CONTAINER_COLUMNS if c not in keys)

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO containers ({columns}) VALUES ({params}) "
                f"ON CONFLICT (run_id, attempt, name) DO UPDATE SET {updates}",
                values,
            )
            conn.execute(
                "UPDATE runs SET updated_at = ? WHERE run_id = ?", (time.time(), record.run_id)
            )

        try:
            self._transact(upsert)
        except sqlite3.IntegrityError as exc:  # the foreign key: no such run
            raise SpecError(f"unknown run {record.run_id!r}", hint=_LIST_HINT) from exc

    def reap_lost(self) -> builtins.list[str]:
        """Mark runs whose podtask process died as LOST; return their ids.

        A run is lost when its phase is not terminal and its owner
        ``(owner_pid, owner_start_time)`` no longer runs. Runs without an
        owner pid are left alone: nothing says whether they are orphaned. The
        update re-checks the phase, so a run that finished between the scan
        and the write keeps its real ending.
        """
        with self._read() as conn:
            rows = conn.execute(
                "SELECT run_id, owner_pid, owner_start_time FROM runs "
                f"WHERE phase NOT IN ({_TERMINAL_SQL}) AND owner_pid IS NOT NULL"
            ).fetchall()
        dead = [
            row["run_id"]
            for row in rows
            if not process_alive(int(row["owner_pid"]), int(row["owner_start_time"] or 0))
        ]
        self.sweep_orphan_dirs()
        if not dead or self.read_only:
            return []  # on a full disk they stay as they are until there is room to write
        now = time.time()

        def mark(conn: sqlite3.Connection) -> builtins.list[str]:
            reaped: builtins.list[str] = []
            for run_id in dead:
                cursor = conn.execute(
                    "UPDATE runs SET phase = ?, reason = ?, message = ?, ended_at = ?, "
                    f"updated_at = ? WHERE run_id = ? AND phase NOT IN ({_TERMINAL_SQL})",
                    (
                        LOST,
                        LOST_REASON,
                        "the podtask process driving this run exited without finishing it",
                        now,
                        now,
                        run_id,
                    ),
                )
                if cursor.rowcount:
                    reaped.append(run_id)
            return reaped

        try:
            return self._transact(mark)
        except StorageFull:
            return []

    def sweep_orphan_dirs(self) -> builtins.list[str]:
        """Remove run directories that never got a record; returns their names.

        A run's directory is made just before its record, so one without a
        record is a run that never started: podtask was killed, or the disk
        filled up, in between.  A directory names its creator (``owner_of``):
        once that process is gone it is swept at once; while it lives, its run
        may be starting right now.  A directory of an older podtask, with no
        owner, is swept once it is ``ORPHAN_GRACE`` seconds old.
        """
        runs_dir = self.path.parent / RUNS_DIR
        try:
            entries = [p for p in runs_dir.iterdir() if p.is_dir()]
        except OSError:
            return []
        if not entries:
            return []
        known = self._known_run_ids()
        cutoff = time.time() - ORPHAN_GRACE
        removed: builtins.list[str] = []
        for path in entries:
            if path.name in known:
                continue
            owner = owner_of(path)
            try:
                if owner is not None:
                    orphaned = not process_alive(*owner)
                else:
                    orphaned = path.stat().st_mtime <= cutoff
            except OSError:
                continue
            # Its creator may have written the record just before it died: look again.
            if orphaned and path.name not in self._known_run_ids():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        return removed

    def _known_run_ids(self) -> set[str]:
        with self._read() as conn:
            return {r[0] for r in conn.execute("SELECT run_id FROM runs").fetchall()}

    # -- reads ------------------------------------------------------------

    def get(self, run_id: str) -> RunRecord:
        """The run ``run_id``, or the only run whose id starts with it (like git/docker)."""
        if not run_id:
            raise SpecError("empty run id", hint=_LIST_HINT)
        with self._read() as conn:
            row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                rows = conn.execute(
                    "SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id LIMIT 11",
                    (len(run_id), run_id),
                ).fetchall()
                if not rows:
                    raise SpecError(f"unknown run {run_id!r}", hint=_LIST_HINT)
                if len(rows) > 1:
                    shown = ", ".join(r["run_id"] for r in rows[:10])
                    more = ", ..." if len(rows) > 10 else ""
                    raise SpecError(
                        f"run id prefix {run_id!r} is ambiguous: matches {shown}{more}",
                        hint="give more characters of the run id",
                    )
                row = rows[0]
            return self._records(conn, [row])[0]

    def list(self, limit: int = 20) -> builtins.list[RunRecord]:
        """The ``limit`` most recently created runs, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM runs ORDER BY created_at DESC, run_id DESC LIMIT ?", (limit,)
            ).fetchall()
            return self._records(conn, rows)

    @staticmethod
    def _records(conn: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> builtins.list[RunRecord]:
        """Build records for ``rows`` with their containers, in one query for all of them."""
        ids = [row["run_id"] for row in rows]
        by_run: dict[str, builtins.list[ContainerRecord]] = {i: [] for i in ids}
        if ids:
            marks = ", ".join("?" for _ in ids)
            for c in conn.execute(
                f"SELECT * FROM containers WHERE run_id IN ({marks}) ORDER BY run_id, attempt, "
                "CASE kind WHEN 'init' THEN 0 WHEN 'native-sidecar' THEN 0 ELSE 1 END, rowid",
                ids,
            ):
                values = {k: c[k] for k in _CONTAINER_COLUMNS}
                values["is_primary"] = bool(values["is_primary"])
                by_run[c["run_id"]].append(ContainerRecord(**values))
        return [
            RunRecord(**{k: row[k] for k in _RUN_COLUMNS}, containers=by_run[row["run_id"]])
            for row in rows
        ]
