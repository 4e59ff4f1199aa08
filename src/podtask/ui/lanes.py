"""A run's timeline: one lane per container per attempt, with its marks.

Both the browser page and ``podtask describe --timeline`` draw this model, so
what a lane means is decided here once. Two sources are merged: the
container records (written when an attempt ends, authoritative for start,
ready, finish and exit) and the run's ``events.jsonl`` (written as things
happen, so a run still in flight has lanes too, and the only place that holds
the stop signals). Times are epoch seconds; drawing code makes them relative
to ``Timeline.origin``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from podtask._storage import TERMINAL_PHASES, ContainerRecord, RunDir, RunRecord


@dataclass(kw_only=True)
class Lane:
    """One container in one attempt: its bar, marks and how it ended."""

    attempt: int
    container: str
    kind: str = "regular"  # "init" | "native-sidecar" | "regular"
    is_primary: bool = False
    started_at: float | None = None
    ready_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    sigterm_at: float | None = None
    sigkill_at: float | None = None
    grace_end: float | None = None  # when SIGKILL is (or was) due after SIGTERM

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.finished_at is None


@dataclass(kw_only=True)
class Timeline:
    """Every lane of a run on one time axis, from the run's creation to its end (or now)."""

    origin: float
    end: float
    live: bool
    grace_seconds: float | None
    attempts: list[tuple[int, float]] = field(default_factory=list)  # (attempt, started)
    lanes: list[Lane] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the page: times relative to ``origin``, in seconds."""

        def rel(ts: float | None) -> float | None:
            return None if ts is None else round(ts - self.origin, 6)

        lanes = []
        for lane in self.lanes:
            item = asdict(lane)
            for key in ("started_at", "ready_at", "finished_at", "sigterm_at", "sigkill_at"):
                item[key] = rel(item[key])
            item["grace_end"] = rel(lane.grace_end)
            item["running"] = lane.running
            lanes.append(item)
        return {
            "origin": self.origin,
            "end": round(self.end - self.origin, 6),
            "live": self.live,
            "grace_seconds": self.grace_seconds,
            "attempts": [{"attempt": a, "start": rel(t)} for a, t in self.attempts],
            "lanes": lanes,
        }


def pod_kinds(pod: Mapping[str, Any] | None) -> tuple[dict[str, str], str | None, float | None]:
    """Container kinds, the primary's name and the grace period, read from a pod manifest."""
    if not isinstance(pod, Mapping):
        return {}, None, None
    spec = pod.get("spec") or {}
    kinds: dict[str, str] = {}
    for c in spec.get("initContainers") or []:
        always = c.get("restartPolicy") == "Always"
        kinds[str(c.get("name"))] = "native-sidecar" if always else "init"
    for c in spec.get("containers") or []:
        kinds[str(c.get("name"))] = "regular"
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    primary = annotations.get("podtask.io/primary-container")
    grace = spec.get("terminationGracePeriodSeconds")
    return kinds, primary, float(grace) if isinstance(grace, (int, float)) else None


def build_timeline(
    record: RunRecord,
    events: Sequence[Mapping[str, Any]],
    pod: Mapping[str, Any] | None = None,
    *,
    now: float | None = None,
) -> Timeline:
    """Merge a run's records and events into lanes, in attempt then start order."""
    kinds, primary, grace = pod_kinds(pod)
    lanes: dict[tuple[int, str], Lane] = {}
    attempts: dict[int, float] = {}
    attempt = 1

    def lane(att: int, name: str) -> Lane:
        key = (att, name)
        if key not in lanes:
            lanes[key] = Lane(
                attempt=att,
                container=name,
                kind=kinds.get(name, "regular"),
                is_primary=name == primary,
            )
        return lanes[key]

    for e in events:
        kind = e.get("event")
        at = e.get("time")
        at = float(at) if isinstance(at, (int, float)) else None
        if kind == "attempt":
            attempt = int(e.get("attempt") or attempt)
            if at is not None:
                attempts.setdefault(attempt, at)
            continue
        name = e.get("container")
        if not isinstance(name, str):
            continue
        # Some engines stamp the attempt on their events; the rest belong to the last one begun.
        current = lane(int(e.get("attempt") or attempt), name)
        _apply_event(current, str(kind), e, at)
    for c in record.containers:
        _apply_record(lane(c.attempt, c.name), c)
    for item in lanes.values():
        if item.sigterm_at is not None:
            if item.sigkill_at is not None:
                item.grace_end = item.sigkill_at
            elif grace is not None:
                item.grace_end = item.sigterm_at + grace
    live = record.phase not in TERMINAL_PHASES
    end = record.ended_at if record.ended_at and not live else (now or time.time())
    if not live:
        # A finished run's axis ends at its last mark, which may follow ended_at by a hair.
        end = max([end, *_times(lanes.values())])
    ordered = sorted(
        lanes.values(),
        key=lambda x: (
            x.attempt,
            x.started_at if x.started_at is not None else float("inf"),
            x.container,
        ),
    )
    return Timeline(
        origin=record.created_at,
        end=end,
        live=live,
        grace_seconds=grace,
        attempts=sorted(attempts.items()),
        lanes=ordered,
    )


def _apply_event(lane: Lane, kind: str, e: Mapping[str, Any], at: float | None) -> None:
    if kind == "started":
        # A restarted container (native sidecar) keeps its first start on the lane.
        if lane.started_at is None:
            lane.started_at = at
        lane.finished_at = None
    elif kind == "ready":
        lane.ready_at = lane.ready_at if lane.ready_at is not None else at
    elif kind in ("exited", "error"):
        lane.finished_at = at
        lane.exit_code = _int(e.get("exit_code"))
        lane.signal = _int(e.get("signal"))
        lane.reason = e.get("reason") or lane.reason
        lane.message = e.get("message") or lane.message
    elif kind == "stop-signal":
        sig = str(e.get("signal") or "")
        if sig == "SIGKILL":
            lane.sigkill_at = lane.sigkill_at or at
        else:
            lane.sigterm_at = lane.sigterm_at or at


def _apply_record(lane: Lane, c: ContainerRecord) -> None:
    lane.kind = c.kind
    lane.is_primary = c.is_primary
    for key in ("started_at", "ready_at", "finished_at", "exit_code", "signal"):
        value = getattr(c, key)
        if value is not None:
            setattr(lane, key, value)
    lane.reason = c.reason or lane.reason
    lane.message = c.message or lane.message


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _times(lanes: Iterable[Lane]) -> list[float]:
    out: list[float] = []
    for x in lanes:
        out += [
            t for t in (x.started_at, x.ready_at, x.finished_at, x.sigterm_at, x.sigkill_at) if t
        ]
    return out


def read_pod(rd: RunDir) -> dict[str, Any] | None:
    """The run's pod manifest as created (``pod.yaml``), or ``None`` when absent or unreadable."""
    import yaml

    try:
        doc = yaml.safe_load(rd.pod_yaml.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return doc if isinstance(doc, dict) else None


def timeline_of(record: RunRecord, rd: RunDir, *, now: float | None = None) -> Timeline:
    """The timeline of a stored run, read from its record and its run directory."""
    return build_timeline(record, rd.read_events(), read_pod(rd), now=now)
