"""Which clock each time in ``describe``'s container table comes from.

A kubelet reports container times in whole seconds, so on a cluster a start
and a finish often coincide.  podtask has finer times for some of them: the
entrypoint's own clock in the primary (it writes the task's start and end into
the results it sends back) and the moment the watch brought a change.  The
table uses the finest time known for each cell and says where it came from,
with a one-letter suffix explained under the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Finest last: a better source replaces a coarser one for the same cell.
SOURCES = {"kubelet": "k", "watch": "w", "entrypoint": "e"}
_RANK = {name: i for i, name in enumerate(SOURCES)}
_CELL = {
    "started": "started",
    "task-started": "started",
    "exited": "finished",
    "task-finished": "finished",
}
LEGEND = (
    "times: e = the entrypoint's own clock (the task's start and end in the primary),"
    " w = when the watch brought the change, k = the kubelet's (whole seconds)"
)

Cell = tuple[int, str, str]  # attempt, container, "started" | "finished"


def best_times(events: Iterable[dict[str, Any]]) -> dict[Cell, tuple[float, str]]:
    """The finest (time, source) recorded for each container start and finish."""
    best: dict[Cell, tuple[float, str]] = {}
    for e in events:
        source, when = e.get("time_source"), e.get("time")
        cell = _CELL.get(str(e.get("event")))
        if source not in _RANK or cell is None or not isinstance(when, (int, float)):
            continue
        key = (int(e.get("attempt") or 0), str(e.get("container")), cell)
        # Equal rank: the later event is the container's latest run (a restart).
        if key not in best or _RANK[str(source)] >= _RANK[best[key][1]]:
            best[key] = (float(when), str(source))
    return best


def time_cell(
    kubelet_time: float | None,
    better: tuple[float, str] | None,
    *,
    on_cluster: bool,
    rel: Any,
) -> tuple[str, bool]:
    """The cell's text and whether it carries a source suffix (then the legend is shown)."""
    if better is not None:
        when, source = better
        return f"{rel(when)} {SOURCES[source]}", True
    if on_cluster and kubelet_time is not None:
        return f"{rel(kubelet_time)} {SOURCES['kubelet']}", True
    return rel(kubelet_time), False


def in_time_order(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's events by time: the engine records some after the fact (the pod's Events,
    the entrypoint's times arrive with the results); one without a time keeps its place."""
    keyed = []
    last = float("-inf")
    for i, e in enumerate(events):
        when = e.get("time")
        if isinstance(when, (int, float)):
            last = float(when)
        keyed.append((last, i, e))
    return [e for _t, _i, e in sorted(keyed, key=lambda k: (k[0], k[1]))]


__all__ = ["LEGEND", "SOURCES", "best_times", "in_time_order", "time_cell"]
