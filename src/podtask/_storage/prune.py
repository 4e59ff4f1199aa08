"""Delete finished runs, record and directory together (``podtask prune``, retention).

A run is deleted in three steps that never leave a record without its
directory: the directory is renamed into a trash name (atomic), the record is
deleted in one transaction (only if the run is still finished; its containers
go with it by the foreign key), and the trash is removed. If the transaction
fails the rename is undone; if podtask dies before the trash is removed, the
next prune sweeps it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from podtask._errors import InfrastructureError
from podtask._storage.records import TERMINAL_PHASES, RunRecord, RunStore

TRASH_PREFIX = ".pruning-"


@dataclass(frozen=True)
class Criteria:
    """Which finished runs to delete: all given conditions must hold.

    ``older_than``: seconds since the run was created; ``keep``: the newest
    ``keep`` runs are kept whatever else matches; ``phases``: only these.
    """

    older_than: float | None = None
    keep: int | None = None
    phases: frozenset[str] | None = None

    @property
    def empty(self) -> bool:
        return self.older_than is None and self.keep is None and self.phases is None


def select(
    records: Sequence[RunRecord], criteria: Criteria, *, now: float | None = None
) -> list[RunRecord]:
    """The runs ``criteria`` choose among ``records`` (newest first); never an unfinished one."""
    now = time.time() if now is None else now
    kept = criteria.keep or 0
    chosen: list[RunRecord] = []
    for index, record in enumerate(records):
        if record.phase not in TERMINAL_PHASES or index < kept:
            continue
        if criteria.older_than is not None and now - record.created_at < criteria.older_than:
            continue
        if criteria.phases is not None and record.phase not in criteria.phases:
            continue
        chosen.append(record)
    return chosen


def disk_usage(path: Path) -> int:
    """Bytes used by the files under ``path`` (0 if it is gone)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def _run_path(home: Path, record: RunRecord) -> Path:
    """The run's directory, which must be ``<home>/runs/<run id>``: nothing else is deleted."""
    expected = home / "runs" / record.run_id
    if record.run_dir and Path(record.run_dir).resolve() != expected.resolve():
        raise InfrastructureError(
            f"run {record.run_id}: its directory {record.run_dir} is not under {home / 'runs'}; "
            "not deleting it"
        )
    return expected


def delete_run(store: RunStore, home: Path, record: RunRecord) -> int | None:
    """Delete a finished run's record and directory; return the bytes freed.

    None when the run is no longer a finished one in the store (nothing deleted).
    """
    path = _run_path(home, record)
    size = disk_usage(path)
    trash = path.with_name(TRASH_PREFIX + record.run_id)
    moved = False
    try:
        os.rename(path, trash)
        moved = True
    except FileNotFoundError:
        pass  # a record without a directory: delete the record alone
    except OSError as exc:
        raise InfrastructureError(f"cannot prune run {record.run_id}: {exc}") from exc
    marks = ", ".join("?" for _ in TERMINAL_PHASES)
    try:
        # The store's own transaction: one commit or none.
        deleted = store._transact(
            lambda conn: (
                conn.execute(
                    f"DELETE FROM runs WHERE run_id = ? AND phase IN ({marks})",
                    (record.run_id, *sorted(TERMINAL_PHASES)),
                ).rowcount
            )
        )
    except BaseException:
        if moved:
            os.rename(trash, path)
        raise
    if not deleted:
        if moved:
            os.rename(trash, path)
        return None
    shutil.rmtree(trash, ignore_errors=True)
    return size


def sweep_trash(home: Path) -> None:
    """Remove what a prune killed midway left behind (its records are already gone)."""
    runs = home / "runs"
    try:
        leftovers = [p for p in runs.iterdir() if p.name.startswith(TRASH_PREFIX)]
    except OSError:
        return
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Pruned:
    run_id: str
    phase: str
    bytes: int


def prune(
    store: RunStore,
    home: Path,
    criteria: Criteria,
    *,
    dry_run: bool = False,
    spare: Collection[str] = (),
) -> list[Pruned]:
    """Delete (or with ``dry_run`` only list) the runs ``criteria`` choose, except ``spare``."""
    if not dry_run:
        sweep_trash(home)
    records = store.list(2**62)
    out: list[Pruned] = []
    for record in select(records, criteria):
        if record.run_id in spare:
            continue
        if dry_run:
            size = disk_usage(home / "runs" / record.run_id)
            out.append(Pruned(record.run_id, record.phase, size))
            continue
        freed = delete_run(store, home, record)
        if freed is not None:
            out.append(Pruned(record.run_id, record.phase, freed))
    return out
