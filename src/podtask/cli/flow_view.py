"""The live view of a workflow run: node lines, and the nodes' logs as ``[node/container] line``.

On a terminal the node lines are one block at the bottom of stderr, redrawn
in place (like ``podtask run``'s status line) each second and on every change:
pending, running with its elapsed time, succeeded, failed, cached; a map node
counts its elements. Log lines are printed above the block. Elsewhere (a pipe,
``--json``) each state change is one line, so logs stay greppable.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from podtask.cli.common import err

_CLEAR_LINE_UP = "\033[F\033[K"


@dataclass
class _Row:
    phase: str = "PENDING"
    reason: str = ""
    started: float | None = None
    ended: float | None = None
    elements: dict[str, str] = field(default_factory=dict)


class FlowView:
    def __init__(self, nodes: Sequence[str], *, as_json: bool, tty: bool | None = None) -> None:
        self.out = sys.stderr if as_json else sys.stdout
        self.tty = (sys.stderr.isatty() if tty is None else tty) and not as_json
        self.lock = threading.Lock()
        self.rows = {n: _Row() for n in nodes}
        self.drawn = 0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> FlowView:
        if self.tty:
            self._ticker = threading.Thread(target=self._tick, name="flow-view", daemon=True)
            self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self.lock:
            if self.tty:
                self._redraw()  # the final state stays on screen

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self.lock:
                self._redraw()

    # -- callbacks from the scheduler ------------------------------------------------
    def change(self, rec: Any) -> None:
        with self.lock:
            if self.tty:
                self._update(rec)
                self._redraw()
            elif rec.reason != "Queued":
                err(self._event_line(rec))

    def follow(self, node_id: str, child_run_id: str) -> Callable[[], None]:
        from podtask._run import LogFollower
        from podtask._storage import RunDir, podtask_home

        rd = RunDir.open(podtask_home(), child_run_id)

        def emit(container: str, line: str) -> None:
            with self.lock:
                self._clear()
                print(f"[{node_id}/{container}] {line}", file=self.out, flush=True)
                self._redraw()

        return LogFollower(rd.logs_dir, emit).start().stop

    # -- drawing --------------------------------------------------------------------
    def _update(self, rec: Any) -> None:
        now = time.monotonic()
        key = rec.parent or rec.node_id
        row = self.rows.setdefault(key, _Row())
        if rec.parent is not None:
            row.elements[rec.node_id] = rec.phase
            return
        row.phase, row.reason = rec.phase, rec.reason or ""
        if rec.phase == "RUNNING" and row.started is None and rec.reason != "Queued":
            row.started = now
        if rec.phase in ("SUCCEEDED", "FAILED", "SKIPPED", "ABORTED"):
            row.ended = now

    def line(self, name: str, row: _Row, width: int) -> str:
        now = time.monotonic()
        if row.reason == "CacheHit":
            state = "cached"
        elif row.phase == "RUNNING" and row.reason == "Queued":
            state = "queued"
        else:
            state = row.phase.lower()
        text = f"{name.ljust(width)}  {state:<9}"
        if row.started is not None:
            text += f" {(row.ended or now) - row.started:6.1f}s"
        if row.elements:
            phases = list(row.elements.values())
            done = sum(p == "SUCCEEDED" for p in phases)
            failed = sum(p == "FAILED" for p in phases)
            text += f"  {done}/{len(phases)} done, {failed} failed"
        return text

    def _clear(self) -> None:
        if self.tty and self.drawn:
            sys.stderr.write(_CLEAR_LINE_UP * self.drawn)
            sys.stderr.flush()
            self.drawn = 0

    def _redraw(self) -> None:
        if not self.tty:
            return
        self._clear()
        width = max((len(n) for n in self.rows), default=0)
        lines = [self.line(n, r, width) for n, r in self.rows.items()]
        sys.stderr.write("".join(f"{line}\n" for line in lines))
        sys.stderr.flush()
        self.drawn = len(lines)

    @staticmethod
    def _event_line(rec: Any) -> str:
        text = f"{rec.node_id}: {rec.phase}"
        if rec.reason:
            text += f" ({rec.reason})"
        if rec.phase == "RUNNING" and rec.child_run_id:
            text += f" run {rec.child_run_id}"
        elif rec.started_at and rec.ended_at:
            text += f" after {rec.ended_at - rec.started_at:.1f}s"
        if rec.phase == "FAILED" and rec.message:
            text += f": {rec.message}"
        return text
