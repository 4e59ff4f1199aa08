"""Follow every container's log file of a run and hand out whole lines as they appear.

All engines write container logs into the run directory, so one follower
serves them all and the CLI can stream ``[container] line`` while a run goes.

A container may write hundreds of megabytes, with or without newlines, and
the client must not grow with it: files are read in fixed-size chunks, and a
line longer than ``line_limit`` is cut for the terminal (its head is shown
with a note; the file keeps it whole).  With ``max_log_bytes`` the follower
also caps each log file, keeping its newest bytes, and records the cut as a
``log-cut`` event that ``podtask describe`` lists.
"""

from __future__ import annotations

import codecs
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from podtask._storage import RunDir
from podtask._storage.logcap import cut_log_head

CHUNK = 256 * 1024  # bytes read at a time from one log
LINE_LIMIT = 16 * 1024  # longest line shown on the terminal
CUT_NOTE = " [line cut at {limit} bytes for the terminal; `podtask logs` has it whole]"


def copy_log(path: Path, out: TextIO, prefix: str = "") -> None:
    """Write a whole log to ``out`` in fixed-size chunks, ``prefix`` before each line.

    ``podtask logs`` must print a 300 MB line whole without holding it in memory.
    With a prefix, a last line without a newline gets one (the lines are framed).
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    at_line_start = True
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            text = decoder.decode(chunk, final=not chunk)
            if not prefix:
                out.write(text)
            else:
                parts = text.split("\n")
                for i, part in enumerate(parts):
                    last = i == len(parts) - 1
                    if part or not last:
                        if at_line_start:
                            out.write(prefix)
                        out.write(part)
                        at_line_start = False
                    if not last:
                        out.write("\n")
                        at_line_start = True
            if not chunk:
                break
    if prefix and not at_line_start:
        out.write("\n")


class _Stream:
    """What has been read of one log file and the line being assembled."""

    def __init__(self) -> None:
        self.offset = 0
        self.partial = b""
        self.skipping = False  # inside a line already cut: drop bytes until its newline
        self.dropped = 0  # bytes cut from the file's head by the cap


class LogFollower:
    def __init__(
        self,
        logs_dir: Path,
        emit: Callable[[str, str], None],
        interval: float = 0.05,
        *,
        line_limit: int = LINE_LIMIT,
        max_log_bytes: int | None = None,
    ) -> None:
        self._dir = logs_dir
        self._emit = emit
        self._interval = interval
        self._line_limit = line_limit
        self._max = max_log_bytes
        self._streams: dict[Path, _Stream] = {}
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
        self._record_cuts()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._poll(final=False)

    def _poll(self, *, final: bool) -> None:
        try:
            files = sorted(p for p in self._dir.glob("*.log") if p.is_file())
        except OSError:
            return
        for path in files:
            stream = self._streams.setdefault(path, _Stream())
            self._drain(path, stream)
            if self._max is not None:
                self._cap(path, stream)
        if final:
            for path, stream in sorted(self._streams.items()):
                if stream.partial and not stream.skipping:
                    self._emit(path.stem, stream.partial.decode("utf-8", "replace"))
                stream.partial = b""

    def _drain(self, path: Path, stream: _Stream) -> None:
        """Read what is new in ``path``, one chunk at a time, and emit its complete lines."""
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below; reopened each poll (files rotate)
        except OSError:
            return
        with f:
            if os.fstat(f.fileno()).st_size < stream.offset:
                stream.offset = 0  # cut or rewritten by someone else: start over
            f.seek(stream.offset)
            while chunk := f.read(CHUNK):
                stream.offset += len(chunk)
                self._feed(path.stem, stream, chunk)
                if self._max is not None and stream.offset > 2 * self._max:
                    self._cap(path, stream)  # a flood: keep the disk bounded while reading
                    f.seek(stream.offset)

    def _feed(self, name: str, stream: _Stream, chunk: bytes) -> None:
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            if stream.skipping:
                if newline >= 0:
                    stream.skipping = False
            elif len(stream.partial) + len(piece) > self._line_limit:
                head = (stream.partial + piece[: self._line_limit])[: self._line_limit]
                text = head.decode("utf-8", "ignore")
                self._emit(name, text + CUT_NOTE.format(limit=self._line_limit))
                stream.partial = b""
                stream.skipping = newline < 0
            elif newline >= 0:
                line = stream.partial + piece
                stream.partial = b""
                self._emit(name, line.decode("utf-8", "replace"))
            else:
                stream.partial += piece
            if newline < 0:
                return
            start = newline + 1

    def _cap(self, path: Path, stream: _Stream) -> None:
        assert self._max is not None
        try:
            dropped = cut_log_head(path, self._max)
        except OSError:
            return
        stream.dropped += dropped
        stream.offset = max(0, stream.offset - dropped)

    def _record_cuts(self) -> None:
        """One ``log-cut`` event per capped log, so ``describe`` says what was dropped."""
        for path, stream in sorted(self._streams.items()):
            if not stream.dropped:
                continue
            rd = RunDir(run_id=self._dir.parent.name, path=self._dir.parent)
            reason = (
                f"--max-log-size kept the newest {self._max} bytes; "
                f"dropped the oldest {stream.dropped} bytes"
            )
            try:
                rd.append_event(
                    {
                        "event": "log-cut",
                        "container": path.stem,
                        "reason": reason,
                        "time": time.time(),
                    }
                )
            except OSError:
                continue
