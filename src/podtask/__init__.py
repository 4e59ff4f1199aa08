"""podtask: sidecar tasks, Python functions run as the primary container of a pod.

The public API is this namespace (``__all__``): the typed decorator ``task``
with its options ``Pod`` and ``Resources``, the compiler, and the error tree.
The seed's names live in ``podtask.sdk.tasks`` and ``podtask.sdk.types``.
Importing podtask loads no heavy library (YAML, protobuf, kubernetes): those
are imported where they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podtask._authoring import Pod, Resources, Task, task
from podtask._errors import (
    EngineUnavailable,
    InfrastructureError,
    PodtaskError,
    SpecError,
    TaskFailed,
)
from podtask._types import Types

if TYPE_CHECKING:
    from podtask._compile import CompiledTask, compile_task

__version__ = "0.1.0"

_LAZY = {
    "compile_task": ("podtask._compile", "compile_task"),
    "CompiledTask": ("podtask._compile", "CompiledTask"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'podtask' has no attribute {name!r}")


__all__ = [
    "CompiledTask",
    "EngineUnavailable",
    "InfrastructureError",
    "Pod",
    "PodtaskError",
    "Resources",
    "SpecError",
    "Task",
    "TaskFailed",
    "Types",
    "__version__",
    "compile_task",
    "task",
]
