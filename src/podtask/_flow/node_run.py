"""One node = one full podtask run; the only place the workflow scheduler starts runs.

Kept to one small function so it can be pointed at ``podtask.run()`` when that
front door exists, without touching the scheduler.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podtask._authoring import Task
from podtask._errors import SpecError
from podtask._run import Engine, Runner, RunOptions, engine_options
from podtask._run.result import RunResult
from podtask._storage import RunDir, RunStore, podtask_home, read_json
from podtask._types import from_literal


@dataclass
class NodeRunSettings:
    """What every node of one workflow run shares: the engine and its options."""

    engine: Callable[[], Engine]  # a fresh engine object per node: engines keep per-run state
    image: str | None = None
    grace: float | None = None
    sidecar_mode: str | None = None
    engine_options: dict[str, Any] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    hurry: threading.Event = field(default_factory=threading.Event)  # a second Ctrl-C: kill now
    notice: Callable[[str], None] = lambda _m: None


def task_source(task: Task) -> str:
    module = sys.modules.get(task.module)
    path = getattr(module, "__file__", None)
    if not path:
        raise SpecError(f"cannot find the source file of task {task.name}", field=task.name)
    return str(path)


def run_node(
    task: Task,
    inputs: Mapping[str, Any],
    settings: NodeRunSettings,
    *,
    on_start: Callable[[str], None],
    on_status: Callable[[Any], None] = lambda _s: None,
) -> RunResult:
    """Run ``task`` with these Python input values to its end (retries included)."""
    engine = settings.engine()
    options = RunOptions(
        engine=engine,
        inputs=dict(inputs),
        image=settings.image,
        grace=settings.grace,
        sidecar_mode=settings.sidecar_mode,
        cancel=settings.cancel,
        hurry=settings.hurry,
        notice=settings.notice,
        on_status=on_status,
        on_start=lambda run_id, _rd: on_start(run_id),
        engine_options=engine_options(engine, settings.engine_options),
    )
    return Runner(task_source(task), task.name, options).run()


def attach_node(task: Task, run_id: str, settings: NodeRunSettings) -> RunResult:
    """Follow a node's run that outlived the podtask that started it (kubernetes) to its end.

    The run's recorded inputs are passed again: loading the runner checks them
    against the task, as for a new run.
    """
    with RunStore.in_home() as store:
        record = store.get(run_id)
    literals = read_json(RunDir.open(podtask_home(), record.run_id).inputs_json) or {}
    values = {
        v.name: from_literal(literals[v.name], v.type, name=v.name)
        for v in task.interface.inputs
        if v.name in literals
    }
    engine = settings.engine()
    options = RunOptions(
        engine=engine,
        inputs=values,
        cancel=settings.cancel,
        hurry=settings.hurry,
        notice=settings.notice,
        engine_options=engine_options(engine, settings.engine_options),
    )
    return Runner.existing(run_id, options).attach()
