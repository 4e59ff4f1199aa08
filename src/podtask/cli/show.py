"""Text the CLI shows: the live status line, the runs table, ``describe``."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import click

from podtask._lifecycle import ContainerStatus
from podtask._storage import LOST, RunDir, RunRecord
from podtask.cli.show_times import LEGEND, best_times, in_time_order, time_cell

_MARK = {"waiting": "…", "running": "▶", "terminated": "■"}


def status_line(statuses: Iterable[ContainerStatus]) -> str:
    parts = []
    for s in statuses:
        text = f"{s.name} {_MARK.get(s.state, '?')}"
        if s.state == "terminated":
            text += f" {s.exit_code}"
        elif s.state == "running" and s.ready:
            text += " ready"
        parts.append(text)
    return "  ".join(parts)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _rel(ts: float | None, base: float) -> str:
    return "-" if ts is None else f"{ts - base:+.3f}s"


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows
    )


def print_runs(records: list[RunRecord], *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([_record_json(r) for r in records], sort_keys=True))
        return
    if not records:
        click.echo("no runs yet (start one with: podtask run FILE.py TASK)")
        return
    rows = [("RUN ID", "TASK", "ENGINE", "PHASE", "REASON", "STARTED", "DURATION")]
    for r in records:
        duration = (
            f"{(r.ended_at or r.updated_at or r.created_at) - r.created_at:.2f}s"
            if r.ended_at
            else "-"
        )
        rows.append(
            (r.run_id, r.task, r.engine, r.phase, r.reason or "-", _when(r.created_at), duration)
        )
    click.echo(_table(rows), nl=False)


def _record_json(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "task": r.task,
        "engine": r.engine,
        "phase": r.phase,
        "reason": r.reason,
        "message": r.message,
        "created_at": r.created_at,
        "ended_at": r.ended_at,
        "attempts": r.attempts,
        "exit_code": r.exit_code,
    }


def describe_run(record: RunRecord, rd: RunDir) -> str:
    out: list[str] = []
    add = out.append
    base = record.created_at
    add(f"Run:        {record.run_id}\n")
    add(f"Task:       {record.task}  ({record.source})\n")
    add(f"Engine:     {record.engine}\n")
    add(f"Phase:      {record.phase}\n")
    add(f"Reason:     {record.reason or '-'}\n")
    if record.message:
        add(f"Message:    {record.message}\n")
    add(f"Attempts:   {record.attempts}\n")
    add(f"Started:    {_when(record.created_at)}\n")
    ended = _when(record.ended_at)
    if record.ended_at:
        ended += f"  ({record.ended_at - base:.3f}s after start)"
    events = rd.read_events()
    if record.phase == LOST:
        # When the loss was noticed says nothing about the run; its last sign of life does.
        seen = last_seen_alive(record, rd, events)
        add(f"Ended:      - (lost; noticed {_when(record.ended_at)})\n")
        add(f"Last seen:  {_when(seen)}  (podtask's last record of this run)\n")
    else:
        add(f"Ended:      {ended}\n")
    add(f"Run dir:    {record.run_dir}\n")
    retries = [e for e in events if e.get("event") == "attempt" and e.get("budget")]
    if retries:  # which retry budget each attempt after the first drew on
        add(
            "Retries:    "
            + ", ".join(f"attempt {e['attempt']} ({e['budget']})" for e in retries)
            + "\n"
        )
    end = next((e for e in reversed(events) if e.get("event") == "end"), None)
    issues = (end or {}).get("sidecar_issues") or []
    if issues:
        add("\nSidecar issues:\n")
        for issue in issues:
            add(f"  - {issue}\n")
    if not record.containers and record.phase == LOST:
        known = _manifest_containers(rd)
        if known:
            add("\nContainers (from the pod manifest; their state was never recorded):\n")
            add("".join(f"  {name} ({kind})\n" for name, kind in known))
    if record.containers:
        add("\nContainers (times relative to the run's start):\n")
        stops = {
            (e.get("container"), e.get("signal")): e.get("time")
            for e in events
            if e.get("event") == "stop-signal"
        }
        rows = [
            (
                "ATTEMPT",
                "CONTAINER",
                "KIND",
                "STARTED",
                "READY",
                "FINISHED",
                "EXIT",
                "REASON",
                "STOPPED BY",
            )
        ]
        better = best_times(events)
        on_cluster = record.engine.startswith("kubernetes")
        sourced = False
        for c in record.containers:
            started, s1 = time_cell(
                c.started_at,
                better.get((c.attempt, c.name, "started")),
                on_cluster=on_cluster,
                rel=lambda t: _rel(t, base),
            )
            finished, s2 = time_cell(
                c.finished_at,
                better.get((c.attempt, c.name, "finished")),
                on_cluster=on_cluster,
                rel=lambda t: _rel(t, base),
            )
            sourced = sourced or s1 or s2
            name = c.name + (" (primary)" if c.is_primary else "")
            stopped = "-"
            if (c.name, "SIGKILL") in stops:
                stopped = "SIGKILL (grace ended)"
            elif (c.name, "SIGTERM") in stops:
                stopped = "SIGTERM"
            exit_text = "-" if c.exit_code is None else str(c.exit_code)
            rows.append(
                (
                    str(c.attempt),
                    name,
                    c.kind,
                    started,
                    _rel(c.ready_at, base),
                    finished,
                    exit_text,
                    c.reason or "-",
                    stopped,
                )
            )
        add("".join("  " + line + "\n" for line in _table(rows).splitlines()))
        if sourced:
            add(f"  ({LEGEND})\n")
    if events:
        add("\nEvents:\n")
        for e in in_time_order(events):
            if e.get("event") in ("end",):
                continue
            what = e.get("event", "?")
            detail = " ".join(
                f"{k}={e[k]}"
                for k in ("container", "attempt", "signal", "exit_code", "reason")
                if e.get(k) is not None
            )
            if what == "k8s-event":  # the kubelet's or scheduler's words, as kubectl shows them
                count = f" (x{e['count']})" if e.get("count") else ""
                detail += f" {e.get('type', '')}: {e.get('message', '')}{count}"
            add(f"  {_rel(e.get('time'), base):>10}  {what:<12} {detail}\n")
    error = rd.read_error()
    if error:
        add("\nError:\n")
        add(f"  {error.get('type', '')}: {error.get('message', '')}\n")
        tb = str(error.get("traceback", "")).rstrip()
        if tb:
            add("".join(f"  | {line}\n" for line in tb.splitlines()))
    outputs = rd.read_outputs()
    if outputs:
        add("\nOutputs:\n")
        for k, v in outputs.items():
            add(f"  {k} = {json.dumps(v)}\n")
    if rd.pod_yaml.exists():
        local = record.engine in ENGINES_WITHOUT_IMAGES
        note = "; the local engine uses no image" if local else ""
        add(f"\nPod (effective manifest{note}; env values hidden, names shown):\n")
        text = _for_terminal(rd.pod_yaml.read_text(), drop_images=local)
        add("".join(f"  {line}\n" for line in text.splitlines()))
    return "".join(out)


def last_seen_alive(record: RunRecord, rd: RunDir, events: list[dict[str, Any]]) -> float:
    """The last moment podtask left a trace of the run: an event, a container, a log line."""
    times: list[float] = [record.created_at]
    times += [float(e["time"]) for e in events if isinstance(e.get("time"), (int, float))]
    for c in record.containers:
        times += [t for t in (c.started_at, c.ready_at, c.finished_at) if t is not None]
    with contextlib.suppress(OSError):
        times += [p.stat().st_mtime for p in rd.logs_dir.glob("*.log")]
    return max(times)


def _manifest_containers(rd: RunDir) -> list[tuple[str, str]]:
    try:
        import yaml

        pod = yaml.safe_load(rd.pod_yaml.read_text())
        spec = pod.get("spec") or {}
        return [
            (str(c.get("name")), "init" if kind == "initContainers" else "regular")
            for kind in ("initContainers", "containers")
            for c in spec.get(kind) or []
        ]
    except (OSError, ValueError, AttributeError, TypeError):
        return []


#: Engines that run each container's command on this host: an image would be a lie.
ENGINES_WITHOUT_IMAGES = frozenset({"local"})


#: What an env value is shown as: values may be secrets, and describe output
#: lands in terminals, tickets and CI logs. The run dir keeps the real manifest.
HIDDEN = "(hidden)"


def _for_terminal(pod_yaml: str, *, drop_images: bool) -> str:
    """The manifest with env values hidden and, for engines without images, no ``image``."""
    import yaml

    from podtask._compile import to_yaml

    try:
        pod = yaml.safe_load(pod_yaml)
        spec = pod.get("spec") or {}
        for kind in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(kind) or []:
                if drop_images:
                    container.pop("image", None)
                    container.pop("imagePullPolicy", None)
                for entry in container.get("env") or []:
                    if "value" in entry:
                        entry["value"] = HIDDEN
        return to_yaml(pod)
    except (yaml.YAMLError, AttributeError, TypeError):
        # A manifest that does not parse cannot be shown safely: say where it is.
        return "(the manifest in the run directory could not be read)"
