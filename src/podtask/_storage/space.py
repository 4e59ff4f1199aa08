"""A full disk under ``PODTASK_HOME``: say so in one line, and keep room to finish a run's record.

When the disk fills up in the middle of a run, the writes podtask still has to
make (the container records, the final phase, the ``end`` event) are exactly
the ones that tell the truth about the run; if they fail, a run podtask
finished would later read as LOST.  So every run starts by making sure a
*reserve* file of ``RESERVE_BYTES`` exists in the home (and refuses to start,
with nothing created, when it cannot).  A podtask write that hits ``ENOSPC``
deletes the reserve and tries once more: the room it frees is what the run
needs to finish its bookkeeping.  The next run finds the reserve gone, cannot
re-create it on a full disk, and stops before creating anything.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from podtask._errors import StorageFull

RESERVE_NAME = ".podtask-reserve"
RESERVE_BYTES = 128 * 1024
#: Free space a run needs besides the reserve to write its directory and record.
HEADROOM = 128 * 1024
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# SQLite reports some full-disk failures (shared memory, journal) as I/O errors.
_NEARLY_FULL = 256 * 1024
_SQLITE_FULL = 13  # the primary result code (sqlite3 has no constant for it before 3.12)
_SQLITE_FULL_TEXT = ("database or disk is full", "disk i/o error")
_MAX_LEVELS = 5
#: Free space under which a disk that had ``HEADROOM`` at the start counts as filled.
FILLED_BELOW = 64 * 1024  # a file podtask writes is at most this deep under the home

T = TypeVar("T")


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged user may still write on ``path``'s file system."""
    for candidate in (path, *path.parents):
        try:
            st = os.statvfs(candidate)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize
    return None


def human(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def is_full(exc: BaseException, near: Path | None = None) -> bool:
    """Whether ``exc`` means "no space left" (an ``OSError`` or SQLite's way of saying it)."""
    if isinstance(exc, StorageFull):
        return True
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code == _SQLITE_FULL:
            return True
        text = str(exc).lower()
        if any(t in text for t in _SQLITE_FULL_TEXT) and near is not None:
            free = free_bytes(near)
            return free is not None and free < _NEARLY_FULL
    return False


def full_error(
    home: Path, what: str, *, nothing_started: bool = False, need: int | None = None
) -> StorageFull:
    """The one-line error: which home, how much is free, what could not be written, what to do."""
    free = f"{human(free_bytes(home))} free"
    if need is not None:
        free += f", a run needs {human(need)}"
    return StorageFull(
        f"PODTASK_HOME {home} is full ({free}): cannot {what}. Free some space (old runs "
        f"are under {home / 'runs'}) or set PODTASK_HOME to a directory on a larger disk",
        nothing_started=nothing_started,
    )


def _disk_full(folder: Path, what: str) -> StorageFull:
    """A full disk outside any podtask home (``compile -o DIR``, a work dir)."""
    return StorageFull(
        f"the disk holding {folder} is full ({human(free_bytes(folder))} free): cannot {what}"
    )


def full_disk_hint(filename: object) -> str:
    """For a full disk podtask did not write itself (a container's log): where and how much."""
    path = Path(str(filename)) if filename else None
    home = find_home(path) if path else None
    if home is not None:
        return f"PODTASK_HOME {home} is full, {human(free_bytes(home))} free"
    folder = path.parent if path else Path.cwd()
    return f"the disk holding {folder} is full, {human(free_bytes(folder))} free"


def find_home(path: Path) -> Path | None:
    """The podtask home a file belongs to (the nearest folder above holding the reserve or db)."""
    for folder in list(path.parents)[:_MAX_LEVELS]:
        if (folder / RESERVE_NAME).exists() or (folder / "podtask.db").exists():
            return folder
    return None


def ensure_reserve(home: Path) -> None:
    """Before a run: the reserve in place and room for the run's own files, or ``StorageFull``.

    Nothing is created when this fails, so the CLI can say "nothing started".
    """
    path = home / RESERVE_NAME
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        have = path.stat().st_size if path.exists() else 0
        if have < RESERVE_BYTES:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                # Written, not just sized: a sparse file would reserve nothing.
                os.lseek(fd, have, os.SEEK_SET)
                left = RESERVE_BYTES - have
                while left > 0:
                    left -= os.write(fd, b"\0" * min(left, 65536))
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            # What was written stays: it is room for a later run's records.
            raise full_error(home, "start a run", nothing_started=True) from exc
        raise
    free = free_bytes(home)
    if free is not None and free < HEADROOM:
        raise full_error(home, "start a run", nothing_started=True, need=HEADROOM)


def release_reserve(home: Path) -> bool:
    """Free the reserve so a run can finish its records; False when there was none."""
    try:
        os.unlink(home / RESERVE_NAME)
    except FileNotFoundError:
        return False
    return True


class FillWatch:
    """Whether the disk under a home filled up while a run's containers ran.

    A container writes its log straight to ``logs/<name>.log`` under the home,
    so podtask never sees the ``ENOSPC`` its writes meet: the container just
    fails (a Python task dies on its next ``print``).  The disk tells instead:
    when the attempt ends it is (nearly) full, or the reserve that was in
    place when the attempt started is gone (a podtask write of this or another
    run freed it because the disk was full).  A run starts only with
    ``HEADROOM`` free, so either means the disk filled during the attempt.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self._had_reserve = (home / RESERVE_NAME).exists()

    def filled(self) -> bool:
        free = free_bytes(self.home)
        if free is not None and free < FILLED_BELOW:
            return True
        return self._had_reserve and not (self.home / RESERVE_NAME).exists()


def retry_when_full(
    path: Path, what: str, write: Callable[[], T], *, cleanup: Callable[[], None] | None = None
) -> T:
    """Run ``write`` (which writes ``path``); on a full disk free the reserve and run it once more.

    Still full: ``StorageFull``, naming the podtask home ``path`` is under (or
    its folder when it is under none) and the free space.
    """
    try:
        return write()
    except (OSError, sqlite3.Error) as exc:
        if isinstance(exc, StorageFull) or not is_full(exc, path.parent):
            raise
        first: BaseException = exc
    home = find_home(path)
    if cleanup is not None:
        cleanup()
    if home is not None and release_reserve(home):
        try:
            return write()
        except (OSError, sqlite3.Error) as exc:
            if not is_full(exc, path.parent):
                raise
            first = exc
    raise (full_error(home, what) if home else _disk_full(path.parent, what)) from first


__all__ = [
    "RESERVE_BYTES",
    "RESERVE_NAME",
    "FillWatch",
    "ensure_reserve",
    "find_home",
    "free_bytes",
    "full_disk_hint",
    "full_error",
    "is_full",
    "release_reserve",
    "retry_when_full",
]
