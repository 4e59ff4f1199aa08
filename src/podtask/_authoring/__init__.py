"""Authoring: the decorators and the ``Task`` they produce (both API styles)."""

from podtask._authoring.broken import BrokenTask
from podtask._authoring.discover import (
    SourceRef,
    load_file,
    load_task,
    load_tasks,
    no_such_task,
    source_ref,
)
from podtask._authoring.legacy import Output, inputs, outputs, python_task, sidecar_task
from podtask._authoring.modern import task
from podtask._authoring.options import Pod, Resources
from podtask._authoring.task import LEGACY, MODERN, Interface, Task, Variable

__all__ = [
    "LEGACY",
    "MODERN",
    "BrokenTask",
    "Interface",
    "Output",
    "Pod",
    "Resources",
    "SourceRef",
    "Task",
    "Variable",
    "inputs",
    "load_file",
    "load_task",
    "load_tasks",
    "no_such_task",
    "outputs",
    "python_task",
    "sidecar_task",
    "source_ref",
    "task",
]
