"""Start, resume and read back workflow runs: the records around the scheduler.

A workflow run has its own run id (in ``flows.db``); each node's run is an
ordinary podtask run in ``podtask.db``, linked from the node's record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from podtask._authoring import SourceRef, Task, source_ref
from podtask._authoring.discover import import_module
from podtask._errors import PodtaskError, SpecError
from podtask._flow.graph import Graph
from podtask._flow.node_run import NodeRunSettings
from podtask._flow.scheduler import FlowOptions, NodeFailed, Scheduler
from podtask._flow.workflow import Workflow
from podtask._run import input_literals as run_input_literals
from podtask._storage import (
    current_process_identity,
    dumps_json,
    new_run_id,
    process_alive,
)
from podtask._storage.flows import FlowStore, NodeRecord, WorkflowRecord


def workflows_in(path: str) -> tuple[SourceRef, dict[str, Workflow]]:
    """The workflows a file defines (imported from elsewhere ones excluded), by name."""
    ref = source_ref(path)
    module = import_module(ref.root, ref.module, ref.path)
    found = {
        v.name: v
        for v in vars(module).values()
        if isinstance(v, Workflow) and v.module == module.__name__
    }
    return ref, found


def find_workflow(path: str, name: str | None) -> tuple[SourceRef, Workflow] | None:
    """The workflow ``name`` of ``path``, or None when ``name`` is not a workflow there."""
    if name is None:
        return None
    ref, found = workflows_in(path)
    wf = found.get(name)
    return (ref, wf) if wf is not None else None


def input_literals(wf: Workflow, values: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow's input literals, checked as a task's are (defaults fill the gaps)."""
    # The check reads only ``.name`` and ``.interface``, which a workflow has as a task does.
    return run_input_literals(cast(Task, wf), values)


@dataclass
class WorkflowResult:
    run_id: str
    workflow: str
    engine: str
    phase: str
    reason: str
    message: str
    outputs: dict[str, Any] | None
    nodes: list[NodeRecord] = field(default_factory=list)
    error: dict[str, Any] | None = None

    @property
    def succeeded(self) -> bool:
        return self.phase == "SUCCEEDED"

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "engine": self.engine,
            "phase": self.phase,
            "reason": self.reason,
            "message": self.message,
            "outputs": self.outputs,
            "error": self.error,
            "nodes": [
                {
                    "node": n.node_id,
                    "run_id": n.child_run_id,
                    "phase": n.phase,
                    "reason": n.reason,
                    "message": n.message,
                    "started_at": n.started_at,
                    "ended_at": n.ended_at,
                    "outputs": json.loads(n.outputs_json) if n.outputs_json else None,
                }
                for n in self.nodes
            ],
        }


Hooks = Callable[[NodeRecord], None]


def start_workflow(
    ref: SourceRef,
    wf: Workflow,
    values: Mapping[str, Any],
    settings: NodeRunSettings,
    options: FlowOptions,
    *,
    on_start: Callable[[str], None] = lambda _id: None,
    on_change: Hooks = lambda _r: None,
    on_node_start: Callable[[str, str], Callable[[], None]] = lambda _n, _r: lambda: None,
) -> WorkflowResult:
    """Check everything, record the workflow run, then run its graph to the end."""
    graph = wf.graph()  # SpecError here: nothing exists yet
    literals = input_literals(wf, values)
    settings.engine()  # an unknown or unavailable engine fails before anything is recorded
    run_id = new_run_id(wf.name)
    pid, start = current_process_identity()
    with FlowStore.in_home() as store:
        store.create(
            WorkflowRecord(
                run_id=run_id,
                workflow=f"{ref.module}:{wf.name}",
                source=str(ref.path),
                engine=_engine_name(settings),
                phase="RUNNING",
                inputs_json=dumps_json(literals),
                options_json=dumps_json({**options.to_json(), **_settings_json(settings)}),
                graph_json=dumps_json(graph.to_json()),
                owner_pid=pid,
                owner_start_time=start,
            )
        )
        on_start(run_id)
        return _drive(store, run_id, graph, literals, settings, options, on_change, on_node_start)


def resume_workflow(
    run_id: str,
    make_settings: Callable[[str, dict[str, Any]], NodeRunSettings],
    *,
    on_start: Callable[[str], None] = lambda _id: None,
    on_change: Hooks = lambda _r: None,
    on_node_start: Callable[[str, str], Callable[[], None]] = lambda _n, _r: lambda: None,
) -> WorkflowResult:
    """Continue a workflow whose podtask died: finished nodes are kept, the rest run."""
    with FlowStore.in_home() as store:
        record = store.find(run_id)
        if record is None:
            raise SpecError(f"unknown workflow run {run_id!r}")
        if record.phase in ("SUCCEEDED", "FAILED", "ABORTED"):
            return result_of(store, record.run_id)
        if record.owner_pid and process_alive(record.owner_pid, record.owner_start_time or 0):
            raise SpecError(
                f"workflow run {record.run_id} is driven by podtask process {record.owner_pid}",
                hint="wait for it, or stop that process first",
            )
        _, found = workflows_in(record.source)
        name = record.workflow.rpartition(":")[2]
        wf = found.get(name)
        if wf is None:
            raise SpecError(f"{record.source} no longer defines workflow {name!r}")
        graph = wf.graph()
        if dumps_json(graph.to_json()) != record.graph_json:
            raise SpecError(
                f"workflow {name} changed since run {record.run_id} started",
                hint="start a new run with `podtask run`",
            )
        saved = json.loads(record.options_json)
        options = FlowOptions(
            parallel=int(saved["parallel"]),
            continue_on_failure=bool(saved["continue_on_failure"]),
            no_cache=bool(saved["no_cache"]),
            overwrite_cache=bool(saved["overwrite_cache"]),
        )
        settings = make_settings(record.engine, saved)
        pid, start = current_process_identity()
        store.update(record.run_id, owner_pid=pid, owner_start_time=start)
        on_start(record.run_id)
        literals = json.loads(record.inputs_json)
        return _drive(
            store, record.run_id, graph, literals, settings, options, on_change, on_node_start
        )


def _drive(
    store: FlowStore,
    run_id: str,
    graph: Graph,
    literals: dict[str, Any],
    settings: NodeRunSettings,
    options: FlowOptions,
    on_change: Hooks,
    on_node_start: Callable[[str, str], Callable[[], None]],
) -> WorkflowResult:
    scheduler = Scheduler(
        graph,
        run_id,
        store,
        settings,
        options,
        on_change=on_change,
        on_node_start=on_node_start,
    )
    try:
        outputs = scheduler.run(literals)
    except NodeFailed as exc:
        phase = "ABORTED" if settings.cancel.is_set() else "FAILED"
        store.update(run_id, phase=phase, reason=exc.reason, message=str(exc), ended_at=time.time())
    except PodtaskError as exc:
        store.update(
            run_id,
            phase="FAILED",
            reason=type(exc).__name__,
            message=str(exc),
            ended_at=time.time(),
        )
        raise
    else:
        store.update(
            run_id,
            phase="SUCCEEDED",
            reason="Completed",
            message="",
            outputs_json=dumps_json(outputs),
            ended_at=time.time(),
        )
    return result_of(store, run_id)


def result_of(store: FlowStore, run_id: str) -> WorkflowResult:
    record = store.find(run_id)
    assert record is not None
    nodes = store.nodes(run_id)
    failed = next((n for n in nodes if n.parent is None and n.phase == "FAILED"), None)
    return WorkflowResult(
        run_id=record.run_id,
        workflow=record.workflow,
        engine=record.engine,
        phase=record.phase,
        reason=record.reason or "",
        message=record.message or "",
        outputs=json.loads(record.outputs_json) if record.outputs_json else None,
        nodes=nodes,
        error=json.loads(failed.error_json) if failed and failed.error_json else None,
    )


def _engine_name(settings: NodeRunSettings) -> str:
    return str(getattr(settings.engine(), "name", "?"))


def _settings_json(settings: NodeRunSettings) -> dict[str, Any]:
    return {
        "image": settings.image,
        "grace": settings.grace,
        "sidecar_mode": settings.sidecar_mode,
        "engine_options": settings.engine_options,
    }
