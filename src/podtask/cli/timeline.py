"""``podtask describe RUN --timeline``: a run's container lanes drawn with text.

For users on SSH: the same lanes as the ``podtask ui`` page (built by
``podtask.ui.lanes``), one row per container per attempt on one time axis.
"""

from __future__ import annotations

from podtask._storage import RunDir, RunRecord
from podtask.ui.lanes import Lane, Timeline

WIDTH = 60
LEGEND = (
    "  ━ running   ▷ still running   R ready   T SIGTERM   ░ grace period   K SIGKILL   ■ exited\n"
)


def _col(t: float, tl: Timeline, width: int) -> int:
    span = max(tl.end - tl.origin, 1e-9)
    return min(width - 1, max(0, round((t - tl.origin) / span * (width - 1))))


def _row(lane: Lane, tl: Timeline, width: int) -> str:
    cells = [" "] * width
    if lane.started_at is None:
        return "".join(cells)
    start = _col(lane.started_at, tl, width)
    stop = _col(lane.finished_at if lane.finished_at is not None else tl.end, tl, width)
    for i in range(start, stop + 1):
        cells[i] = "━"
    if lane.sigterm_at is not None:
        shade_end = lane.finished_at if lane.finished_at is not None else tl.end
        if lane.grace_end is not None:
            shade_end = min(shade_end, lane.grace_end)
        if lane.sigkill_at is not None:
            shade_end = lane.sigkill_at
        for i in range(_col(lane.sigterm_at, tl, width), _col(shade_end, tl, width) + 1):
            cells[i] = "░"
    # Later marks win a shared cell: the exit is implied by the bar's end, a signal is not.
    marks: list[tuple[float | None, str]] = [(lane.ready_at, "R")]
    if lane.finished_at is not None:
        marks.append((lane.finished_at, "■"))
    else:
        cells[stop] = "▷"
    marks += [(lane.sigterm_at, "T"), (lane.sigkill_at, "K")]
    for at, char in marks:
        if at is not None:
            cells[_col(at, tl, width)] = char
    return "".join(cells)


def _label(lane: Lane) -> str:
    tags = []
    if lane.is_primary:
        tags.append("primary")
    if lane.kind == "init":
        tags.append("init")
    elif lane.kind == "native-sidecar":
        tags.append("native sidecar")
    return lane.container + (f" ({', '.join(tags)})" if tags else "")


def _ending(lane: Lane, tl: Timeline) -> str:
    def rel(t: float) -> str:
        return f"+{t - tl.origin:.3f}s"

    parts = []
    if lane.started_at is None:
        return "never started"
    parts.append(f"start {rel(lane.started_at)}")
    if lane.ready_at is not None:
        parts.append(f"ready {rel(lane.ready_at)}")
    if lane.sigterm_at is not None:
        parts.append(f"SIGTERM {rel(lane.sigterm_at)}")
    if lane.sigkill_at is not None:
        parts.append(f"SIGKILL {rel(lane.sigkill_at)} (grace ended)")
    if lane.finished_at is None:
        parts.append("running")
    else:
        exit_text = "?" if lane.exit_code is None else str(lane.exit_code)
        parts.append(f"exit {exit_text} {rel(lane.finished_at)}")
        if lane.reason:
            parts.append(lane.reason)
    return ", ".join(parts)


def draw_timeline(tl: Timeline, *, width: int = WIDTH) -> str:
    """The lanes as text: a time axis, one bar per lane, then each lane's exact times."""
    if not tl.lanes:
        return "Timeline: no container has started yet\n"
    labels = [f"{lane.attempt}  {_label(lane)}" for lane in tl.lanes]
    pad = max(len(x) for x in labels)
    total = tl.end - tl.origin
    end_text = f"+{total:.3f}s" + (" (now)" if tl.live else "")
    head = f"0s{end_text:>{width - 2}}"
    out = ["Timeline (attempt, container; one axis for all attempts):\n"]
    out.append(f"  {'':<{pad}}  {head}\n")
    out.append(f"  {'':<{pad}} ┬{'─' * width}┬\n")
    for label, lane in zip(labels, tl.lanes, strict=True):
        out.append(f"  {label:<{pad}} │{_row(lane, tl, width)}│\n")
    out.append(LEGEND)
    out.append("\n")
    for label, lane in zip(labels, tl.lanes, strict=True):
        out.append(f"  {label:<{pad}}  {_ending(lane, tl)}\n")
    return "".join(out)


def describe_timeline(record: RunRecord, rd: RunDir) -> str:
    """What ``describe --timeline`` prints: who the run is, then its lanes."""
    from podtask.ui.lanes import timeline_of

    head = f"Run:        {record.run_id}\nTask:       {record.task}\n"
    head += f"Phase:      {record.phase} ({record.reason or '-'})\n\n"
    return head + draw_timeline(timeline_of(record, rd))
