"""Text for workflow runs: ``describe`` (graph, nodes, timeline) and the ``runs`` section."""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from podtask._storage import process_alive
from podtask._storage.flows import NodeRecord, WorkflowRecord

BAR = 40


def shown_phase(r: WorkflowRecord) -> str:
    """A workflow whose podtask died shows LOST until ``podtask attach`` resumes it."""
    if (
        r.phase == "RUNNING"
        and r.owner_pid
        and not process_alive(r.owner_pid, r.owner_start_time or 0)
    ):
        return "LOST"
    return r.phase


def _when(ts: float | None) -> str:
    return "-" if ts is None else _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows
    )


def counts(nodes: Sequence[NodeRecord]) -> str:
    """Top-level nodes by phase, e.g. ``3 succeeded, 1 failed``."""
    c = Counter(n.phase.lower() for n in nodes if n.parent is None)
    return ", ".join(f"{v} {k}" for k, v in sorted(c.items())) or "-"


def workflow_runs_table(rows: Sequence[tuple[WorkflowRecord, Sequence[NodeRecord]]]) -> str:
    table = [("WORKFLOW RUN", "WORKFLOW", "ENGINE", "PHASE", "NODES", "STARTED", "DURATION")]
    for r, nodes in rows:
        duration = f"{r.ended_at - r.created_at:.2f}s" if r.ended_at else "-"
        table.append(
            (
                r.run_id,
                r.workflow,
                r.engine,
                shown_phase(r),
                counts(nodes),
                _when(r.created_at),
                duration,
            )
        )
    return _table(table)


def workflow_json(r: WorkflowRecord, nodes: Sequence[NodeRecord]) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "workflow": r.workflow,
        "engine": r.engine,
        "phase": shown_phase(r),
        "reason": r.reason,
        "message": r.message,
        "created_at": r.created_at,
        "ended_at": r.ended_at,
        "nodes": dict(Counter(n.phase for n in nodes if n.parent is None)),
    }


def _source(binding: dict[str, Any]) -> str:
    if "node" in binding:
        return f"{binding['node']}.{binding['output']}"
    if "input" in binding:
        return f"input {binding['input']}"
    return json.dumps(binding.get("const"))


def describe_workflow(r: WorkflowRecord, nodes: Sequence[NodeRecord]) -> str:
    """The graph (nodes, edges, phases) and a text timeline of the nodes."""
    graph = json.loads(r.graph_json)
    by_id = {n.node_id: n for n in nodes}
    out = [
        f"Workflow run: {r.run_id}",
        f"Workflow:     {r.workflow}  ({r.source})",
        f"Engine:       {r.engine}",
        f"Phase:        {shown_phase(r)}" + (f" ({r.reason})" if r.reason else ""),
    ]
    if r.message:
        out.append(f"Message:      {r.message}")
    out.append(f"Inputs:       {json.dumps(json.loads(r.inputs_json), sort_keys=True)}")
    if r.outputs_json:
        out.append(f"Outputs:      {json.dumps(json.loads(r.outputs_json), sort_keys=True)}")
    out.append("")
    out.append("Nodes:")
    rows = [("NODE", "TASK", "PHASE", "REASON", "RUN", "INPUTS FROM")]
    for node_id, doc in graph["nodes"].items():
        rec = by_id.get(node_id)
        sources = ", ".join(f"{k}<-{_source(v)}" for k, v in doc["inputs"].items())
        kind = " (map)" if doc["kind"] == "map" else ""
        rows.append(
            (
                node_id,
                doc["task"] + kind,
                rec.phase if rec else "PENDING",
                (rec.reason or "-") if rec else "-",
                (rec.child_run_id or "-") if rec else "-",
                sources or "-",
            )
        )
    out.append(_table(rows).rstrip("\n"))
    for rec in nodes:
        if rec.parent is None and rec.phase == "FAILED" and rec.message:
            out.append(f"  {rec.node_id} failed: {rec.message}")
    out.append("")
    out.append("Timeline:")
    out.append(timeline(nodes))
    return "\n".join(out) + "\n"


def timeline(nodes: Sequence[NodeRecord]) -> str:
    """One bar per node (map elements folded into their node) on a shared time axis."""
    spans: dict[str, tuple[float, float, str]] = {}
    for n in nodes:
        if n.started_at is None:
            continue
        key = n.parent or n.node_id
        end = n.ended_at or n.started_at
        old = spans.get(key)
        phase = n.phase if n.parent is None else (old[2] if old else "RUNNING")
        if old:
            spans[key] = (min(old[0], n.started_at), max(old[1], end), phase)
        else:
            spans[key] = (n.started_at, end, phase)
    for n in nodes:
        if n.parent is None and n.node_id in spans:
            s, e, _ = spans[n.node_id]
            spans[n.node_id] = (s, e, n.phase)
    if not spans:
        return "  (no node has started)"
    t0 = min(s for s, _, _ in spans.values())
    t1 = max(e for _, e, _ in spans.values())
    scale = BAR / max(t1 - t0, 1e-6)
    width = max(len(k) for k in spans)
    lines = []
    for key, (s, e, phase) in sorted(spans.items(), key=lambda kv: (kv[1][0], kv[0])):
        a = int((s - t0) * scale)
        b = max(a + 1, int((e - t0) * scale))
        bar = " " * a + "█" * (b - a) + " " * (BAR - b)
        lines.append(f"  {key.ljust(width)} |{bar}| +{s - t0:.2f}s {e - s:.2f}s {phase}")
    return "\n".join(lines)
