"""Process identity: telling "the podtask that owns this run is still alive" apart
from "a different process now has its pid".

A pid alone is not an identity, the kernel recycles them. On Linux the pair
(pid, start time in clock ticks since boot, field 22 of ``/proc/<pid>/stat``)
is: a recycled pid comes with a different start time. Without ``/proc``
(macOS, BSD) the start time is reported as 0 and only ``os.kill(pid, 0)`` is
available, so pid reuse goes undetected there.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")
_DEAD_STATES = frozenset({"Z", "X", "x"})  # zombie / dead: exited, just not reaped yet


def _read_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of ``pid`` from ``/proc``, or None when it has no entry.

    The command name (field 2) is in parentheses and may itself contain spaces
    and ')', so the fields are split after the *last* ')'; what follows starts
    at field 3 (state), which puts field 22 (starttime) at index 19.
    """
    try:
        raw = (_PROC / str(pid) / "stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    rest = raw[raw.rindex(b")") + 2 :].split()
    return rest[0].decode(), int(rest[19])


def _have_proc() -> bool:
    return (_PROC / "self" / "stat").exists()


def current_process_identity() -> tuple[int, int]:
    """(pid, start time in clock ticks) of this process; start time is 0 without /proc."""
    pid = os.getpid()
    stat = _read_stat(pid) if _have_proc() else None
    return pid, (stat[1] if stat else 0)


def _kill_probe(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it just belongs to someone else
    except OSError:
        return False
    return True


def process_alive(pid: int, start_time: int) -> bool:
    """True when the process ``(pid, start_time)`` is still running.

    False for a pid that is gone, a zombie, or a pid now used by a process
    that started at another time. ``start_time`` 0 means "unknown": only the
    pid is checked.
    """
    if pid <= 0:
        return False
    if not _have_proc():
        return _kill_probe(pid)
    stat = _read_stat(pid)
    if stat is None:
        return False
    state, started = stat
    if state in _DEAD_STATES:
        return False
    return start_time == 0 or started == start_time
