"""Read-only queries over the run database that the page needs and RunStore lacks.

``RunStore.list`` takes only a limit; the runs list filters by phase, task and
engine and pages through thousands of runs, so it is written here against the
schema of ``podtask._storage.records`` (version 1), on a read-only connection
that can never change a record. Whole records with their containers still come
from ``RunStore.get``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podtask._errors import InfrastructureError
from podtask._storage import DB_NAME

LIST_COLUMNS = (
    "run_id",
    "task",
    "engine",
    "phase",
    "reason",
    "message",
    "created_at",
    "updated_at",
    "ended_at",
    "attempts",
    "exit_code",
)
PAGE = 200


@dataclass(frozen=True, kw_only=True)
class RunFilter:
    """What the runs list shows: exact phase and engine, a task substring, a page cursor."""

    phase: str | None = None
    engine: str | None = None
    task: str | None = None
    before: tuple[float, str] | None = None  # (created_at, run_id) of the last row shown
    limit: int = PAGE


class ReadOnlyRuns:
    """A read-only view of ``<home>/podtask.db``; one per thread (sqlite3 connections are not)."""

    def __init__(self, home: Path) -> None:
        self.path = home / DB_NAME
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection | None:
        if self._conn is None:
            if not self.path.exists():
                return None  # no run yet: an empty list, not an error
            try:
                self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
            except sqlite3.Error as exc:
                raise InfrastructureError(
                    f"cannot read run database {str(self.path)!r}: {exc}"
                ) from exc
            self._conn.row_factory = sqlite3.Row
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def data_version(self) -> int:
        """A number that changes whenever another connection commits (SQLite's data_version)."""
        db = self._db()
        if db is None:
            return -1 if not self.path.exists() else -2
        return int(db.execute("PRAGMA data_version").fetchone()[0])

    def runs(self, f: RunFilter) -> dict[str, Any]:
        """One page of runs, newest first, with the total that match and the phase counts."""
        db = self._db()
        if db is None:
            return {"runs": [], "total": 0, "phases": {}, "engines": [], "more": False}
        where: list[str] = []
        args: list[Any] = []
        if f.phase:
            where.append("phase = ?")
            args.append(f.phase)
        if f.engine:
            where.append("engine = ?")
            args.append(f.engine)
        if f.task:
            where.append("instr(lower(task), lower(?)) > 0")
            args.append(f.task)
        filtered = " AND ".join(where) or "1"
        page_where = filtered
        page_args = list(args)
        if f.before is not None:
            page_where += " AND (created_at < ? OR (created_at = ? AND run_id < ?))"
            page_args += [f.before[0], f.before[0], f.before[1]]
        try:
            db.execute("BEGIN")  # one snapshot for the page and its counts
            try:
                rows = db.execute(
                    f"SELECT {', '.join(LIST_COLUMNS)} FROM runs WHERE {page_where} "
                    "ORDER BY created_at DESC, run_id DESC LIMIT ?",
                    [*page_args, f.limit + 1],
                ).fetchall()
                total = int(
                    db.execute(f"SELECT count(*) FROM runs WHERE {filtered}", args).fetchone()[0]
                )
                phases = {
                    r[0]: r[1]
                    for r in db.execute("SELECT phase, count(*) FROM runs GROUP BY phase")
                }
                engines = [r[0] for r in db.execute("SELECT DISTINCT engine FROM runs")]
            finally:
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise InfrastructureError(f"run database {str(self.path)!r}: {exc}") from exc
        return {
            "runs": [dict(r) for r in rows[: f.limit]],
            "total": total,
            "phases": phases,
            "engines": sorted(engines),
            "more": len(rows) > f.limit,
        }
