"""podtask: sidecar tasks, Python functions run as the primary container of a pod.

The public API is this namespace (``__all__``): the typed decorator ``task``
with its options ``Pod`` and ``Resources``, the compiler, ``run`` (the Python
front door) with its typed ``RunResult``, and the error tree.
The seed's names live in ``podtask.sdk.tasks`` and ``podtask.sdk.types``.

Every name is loaded on first use (PEP 562), so ``import podtask`` costs
almost nothing: the local engine's pod supervisor and the in-container
entrypoint start from this package and should not pay for what they don't use.
"""

from __future__ import annotations

import importlib

# Not typing.TYPE_CHECKING: importing typing is the slowest part of this file,
# and a Ctrl-C during it would print a traceback before the CLI can map it to 130.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from podtask._api import run
    from podtask._authoring import Pod, Resources, Task, task
    from podtask._compile import CompiledTask, compile_task
    from podtask._errors import (
        EngineUnavailable,
        InfrastructureError,
        PodtaskError,
        SpecError,
        TaskFailed,
    )
    from podtask._flow import map, workflow
    from podtask._lifecycle import TaskPhase
    from podtask._run import ContainerResult, RunResult
    from podtask._types import Directory, Types

__version__ = "0.1.0"

_LAZY = {
    "Pod": "podtask._authoring",
    "Resources": "podtask._authoring",
    "Task": "podtask._authoring",
    "task": "podtask._authoring",
    "Types": "podtask._types",
    "Directory": "podtask._types",
    "map": "podtask._flow",
    "workflow": "podtask._flow",
    "compile_task": "podtask._compile",
    "CompiledTask": "podtask._compile",
    "EngineUnavailable": "podtask._errors",
    "InfrastructureError": "podtask._errors",
    "PodtaskError": "podtask._errors",
    "SpecError": "podtask._errors",
    "TaskFailed": "podtask._errors",
    "run": "podtask._api",
    "RunResult": "podtask._run",
    "LocalOptions": "podtask._run",
    "PodmanOptions": "podtask._run",
    "KubernetesOptions": "podtask._run",
    "ContainerResult": "podtask._run",
    "TaskPhase": "podtask._lifecycle",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'podtask' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "CompiledTask",
    "ContainerResult",
    "Directory",
    "EngineUnavailable",
    "InfrastructureError",
    "KubernetesOptions",
    "LocalOptions",
    "Pod",
    "PodmanOptions",
    "PodtaskError",
    "Resources",
    "RunResult",
    "SpecError",
    "Task",
    "TaskFailed",
    "TaskPhase",
    "Types",
    "__version__",
    "compile_task",
    "map",
    "run",
    "task",
    "workflow",
]
