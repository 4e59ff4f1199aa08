"""When each byte of a container log arrived: what ``timestamps`` and ``sinceSeconds`` need.

The runtime behind a real kubelet stores a time with every log line; the
local engine writes plain files. So the test kubelet watches the files of
running containers (every ``TICK`` seconds, one thread for the whole node)
and notes each growth as (size, time): the time of a line is that of the
first observation that covered its first byte, good to about ``TICK``.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

TICK = 0.1


def rfc3339nano(t: float) -> str:
    """``2024-01-02T03:04:05.123456789Z``, as the kubelet prefixes lines with ``timestamps``."""
    whole = int(t)
    nanos = round((t - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    stamp = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


class LogTimes:
    """(size, time) marks per log file, fed by :meth:`observe`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marks: dict[str, tuple[list[int], list[float]]] = {}

    def observe(self, path: Path, now: float | None = None) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            return
        key = str(path)
        with self._lock:
            sizes, times = self._marks.setdefault(key, ([], []))
            if not sizes or size > sizes[-1]:
                sizes.append(size)
                times.append(time.time() if now is None else now)

    def time_at(self, path: Path, offset: int) -> float:
        """When the byte at ``offset`` was first seen (now, if not yet)."""
        with self._lock:
            sizes, times = self._marks.get(str(path), ([], []))
            i = bisect.bisect_right(sizes, offset)
            return times[i] if i < len(times) else time.time()

    def forget(self, prefix: Path) -> None:
        with self._lock:
            for key in [k for k in self._marks if k.startswith(str(prefix) + os.sep)]:
                del self._marks[key]


def lines_with_times(
    data: bytes, start: int, path: Path, times: LogTimes
) -> list[tuple[bytes, float]]:
    """``data`` (read from ``path`` at ``start``) split into lines, each with its time."""
    out: list[tuple[bytes, float]] = []
    offset = start
    for line in data.splitlines(keepends=True):
        out.append((line, times.time_at(path, offset)))
        offset += len(line)
    return out


class Watcher:
    """The node's one thread: observes the log files ``paths()`` names, until stopped."""

    def __init__(self, times: LogTimes, paths: Callable[[], Iterable[Path]]) -> None:
        self.times = times
        self.paths = paths
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kubelet-logtimes", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(TICK):
            now = time.time()
            for path in self.paths():
                self.times.observe(path, now)

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(2)
