"""Follow every container's log file of a run and hand out whole lines as they appear.

All engines write container logs into the run directory, so one follower
serves them all and the CLI can stream ``[container] line`` while a run goes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


class LogFollower:
    def __init__(
        self, logs_dir: Path, emit: Callable[[str, str], None], interval: float = 0.05
    ) -> None:
        self._dir = logs_dir
        self._emit = emit
        self._interval = interval
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="podtask-logs", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def start_once(self) -> None:
        """Start following unless already started (or stopped)."""
        if not self._thread.is_alive() and not self._stop.is_set() and self._thread.ident is None:
            self._thread.start()

    def stop(self) -> None:
        """Stop following, after emitting everything written so far (incl. unterminated lines)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._poll(final=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._poll(final=False)

    def _poll(self, *, final: bool) -> None:
        try:
            files = sorted(p for p in self._dir.glob("*.log") if p.is_file())
        except OSError:
            return
        for path in files:
            offset = self._offsets.get(path, 0)
            try:
                size = os.path.getsize(path)
                if size <= offset:
                    continue
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read(size - offset)
            except OSError:
                continue
            self._offsets[path] = offset + len(data)
            data = self._partial.pop(path, b"") + data
            *lines, rest = data.split(b"\n")
            if rest:
                self._partial[path] = rest
            for line in lines:
                self._emit(path.stem, line.decode("utf-8", "replace"))
        if final:
            for path, rest in sorted(self._partial.items()):
                self._emit(path.stem, rest.decode("utf-8", "replace"))
            self._partial.clear()
