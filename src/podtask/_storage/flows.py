"""Workflow runs, their nodes, and the task cache, in ``<home>/flows.db``.

A separate SQLite file from ``podtask.db`` so the run database keeps one owner
and one schema version; both use WAL, a busy timeout and ``BEGIN IMMEDIATE``
writes for the same reasons (see ``records.py``). A workflow's state lives
here, never only in the client's memory: after a ``kill -9`` of podtask,
``podtask attach`` reads it back and resumes.

Schema::

    workflows      one row per workflow run
      run_id PK, workflow ("module:name"), source, engine, phase, reason, message,
      created_at, updated_at, ended_at, owner_pid, owner_start_time,
      inputs_json (input literals), outputs_json, options_json (parallel, cache...),
      graph_json (the graph as compiled, to refuse resuming a changed workflow)
    nodes          one row per node, and per element of a map node ("clean[3]")
      run_id -> workflows, node_id, parent (map node of an element), idx,
      phase, reason, message, child_run_id (the podtask run, or the cached one),
      started_at, ended_at, outputs_json, error_json;  PK (run_id, node_id)
    cache          one row per cache key (task, interface, cache_version, inputs)
      key PK, task, cache_version, run_id, outputs_json, created_at
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podtask._errors import InfrastructureError, SpecError
from podtask._storage.home import podtask_home
from podtask._storage.sqlite import connect, use_wal

FLOWS_DB = "flows.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workflows (
    run_id TEXT PRIMARY KEY, workflow TEXT NOT NULL, source TEXT NOT NULL,
    engine TEXT NOT NULL, phase TEXT NOT NULL, reason TEXT, message TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, ended_at REAL,
    owner_pid INTEGER, owner_start_time INTEGER,
    inputs_json TEXT NOT NULL, outputs_json TEXT, options_json TEXT NOT NULL,
    graph_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workflows_created_at ON workflows (created_at);
CREATE TABLE IF NOT EXISTS nodes (
    run_id TEXT NOT NULL REFERENCES workflows (run_id) ON DELETE CASCADE,
    node_id TEXT NOT NULL, parent TEXT, idx INTEGER,
    phase TEXT NOT NULL, reason TEXT, message TEXT, child_run_id TEXT,
    started_at REAL, ended_at REAL, outputs_json TEXT, error_json TEXT,
    PRIMARY KEY (run_id, node_id)
);
CREATE INDEX IF NOT EXISTS nodes_child ON nodes (child_run_id);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY, task TEXT NOT NULL, cache_version TEXT NOT NULL,
    run_id TEXT NOT NULL, outputs_json TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_task ON cache (task);
"""


@dataclass(kw_only=True, frozen=True)
class WorkflowRecord:
    run_id: str
    workflow: str
    source: str
    engine: str
    phase: str
    inputs_json: str
    options_json: str
    graph_json: str
    reason: str | None = None
    message: str | None = None
    created_at: float = dataclasses.field(default_factory=time.time)
    updated_at: float | None = None
    ended_at: float | None = None
    owner_pid: int | None = None
    owner_start_time: int | None = None
    outputs_json: str | None = None


@dataclass(kw_only=True, frozen=True)
class NodeRecord:
    run_id: str
    node_id: str
    phase: str
    parent: str | None = None
    idx: int | None = None
    reason: str | None = None
    message: str | None = None
    child_run_id: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    outputs_json: str | None = None
    error_json: str | None = None


@dataclass(kw_only=True, frozen=True)
class CacheEntry:
    key: str
    task: str
    cache_version: str
    run_id: str
    outputs_json: str
    created_at: float = dataclasses.field(default_factory=time.time)


_WF_COLUMNS = tuple(f.name for f in dataclasses.fields(WorkflowRecord))
_NODE_COLUMNS = tuple(f.name for f in dataclasses.fields(NodeRecord))
_CACHE_COLUMNS = tuple(f.name for f in dataclasses.fields(CacheEntry))


class FlowStore:
    """The workflow database: one connection, serialised by a lock, shared by threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._conn = connect(path)
            use_wal(self._conn)
            with self._write() as conn:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise InfrastructureError(f"workflow database {str(path)!r}: {exc}") from exc

    @classmethod
    def in_home(cls, home: Path | None = None) -> FlowStore:
        return cls((home if home is not None else podtask_home()) / FLOWS_DB)

    @staticmethod
    def exists_in_home(home: Path | None = None) -> bool:
        """Whether any workflow ever ran here: read-only commands then need not create the file."""
        return ((home if home is not None else podtask_home()) / FLOWS_DB).exists()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> FlowStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.rollback()
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise InfrastructureError(f"workflow database {str(self.path)!r}: {exc}") from exc

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> builtins.list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise InfrastructureError(f"workflow database {str(self.path)!r}: {exc}") from exc

    # -- workflows ------------------------------------------------------------------
    def create(self, record: WorkflowRecord) -> None:
        values = dataclasses.asdict(record)
        values["updated_at"] = values["updated_at"] or values["created_at"]
        cols = ", ".join(_WF_COLUMNS)
        marks = ", ".join(":" + c for c in _WF_COLUMNS)
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO workflows ({cols}) VALUES ({marks})",
                values,
            )

    def update(self, run_id: str, /, **fields: Any) -> None:
        unknown = set(fields) - set(_WF_COLUMNS) - {"run_id"}
        if unknown:
            raise TypeError(f"FlowStore.update() got unknown fields: {sorted(unknown)}")
        values = dict(fields, updated_at=time.time(), run_id=run_id)
        sets = ", ".join(f"{c} = :{c}" for c in [*sorted(fields), "updated_at"])
        with self._write() as conn:
            conn.execute(f"UPDATE workflows SET {sets} WHERE run_id = :run_id", values)

    def find(self, run_id: str) -> WorkflowRecord | None:
        """The workflow run ``run_id`` (or the only one it is a prefix of), else None."""
        rows = self._rows("SELECT * FROM workflows WHERE run_id = ?", (run_id,))
        if not rows and run_id:
            rows = self._rows(
                "SELECT * FROM workflows WHERE substr(run_id, 1, ?) = ? LIMIT 2",
                (len(run_id), run_id),
            )
            if len(rows) > 1:
                raise SpecError(
                    f"run id prefix {run_id!r} is ambiguous", hint="give more of the run id"
                )
        if not rows:
            return None
        return WorkflowRecord(**{k: rows[0][k] for k in _WF_COLUMNS})

    def list(self, limit: int = 20) -> builtins.list[WorkflowRecord]:
        rows = self._rows(
            "SELECT * FROM workflows ORDER BY created_at DESC, run_id DESC LIMIT ?", (limit,)
        )
        return [WorkflowRecord(**{k: r[k] for k in _WF_COLUMNS}) for r in rows]

    # -- nodes ------------------------------------------------------------------------
    def set_node(self, record: NodeRecord) -> None:
        """Insert or replace one node's row (a node's state is always written whole)."""
        values = dataclasses.asdict(record)
        cols = ", ".join(_NODE_COLUMNS)
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO nodes ({cols}) "
                f"VALUES ({', '.join(':' + c for c in _NODE_COLUMNS)})",
                values,
            )

    def nodes(self, run_id: str) -> builtins.list[NodeRecord]:
        rows = self._rows(
            "SELECT * FROM nodes WHERE run_id = ? ORDER BY started_at IS NULL, started_at, rowid",
            (run_id,),
        )
        return [NodeRecord(**{k: r[k] for k in _NODE_COLUMNS}) for r in rows]

    def workflow_of_child(self, child_run_id: str) -> str | None:
        rows = self._rows(
            "SELECT run_id FROM nodes WHERE child_run_id = ? LIMIT 1", (child_run_id,)
        )
        return str(rows[0]["run_id"]) if rows else None

    # -- cache ------------------------------------------------------------------------
    def cache_get(self, key: str) -> CacheEntry | None:
        rows = self._rows("SELECT * FROM cache WHERE key = ?", (key,))
        return CacheEntry(**{k: rows[0][k] for k in _CACHE_COLUMNS}) if rows else None

    def cache_put(self, entry: CacheEntry) -> None:
        values = dataclasses.asdict(entry)
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO cache ({', '.join(_CACHE_COLUMNS)}) "
                f"VALUES ({', '.join(':' + c for c in _CACHE_COLUMNS)})",
                values,
            )

    def cache_list(self, task: str | None = None) -> builtins.list[CacheEntry]:
        if task is None:
            rows = self._rows("SELECT * FROM cache ORDER BY task, created_at")
        else:
            rows = self._rows(
                "SELECT * FROM cache WHERE task = ? OR task LIKE ? ORDER BY created_at",
                (task, f"%:{task}"),
            )
        return [CacheEntry(**{k: r[k] for k in _CACHE_COLUMNS}) for r in rows]

    def cache_clear(self, task: str | None = None) -> int:
        with self._write() as conn:
            if task is None:
                return int(conn.execute("DELETE FROM cache").rowcount)
            return int(
                conn.execute(
                    "DELETE FROM cache WHERE task = ? OR task LIKE ?", (task, f"%:{task}")
                ).rowcount
            )
