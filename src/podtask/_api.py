"""``podtask.run()``: run a task from Python and get a typed result back.

The CLI's ``podtask run`` and this function share the ``Runner``: the task is
loaded, compiled and its inputs checked once, before anything starts (bad
input is a ``SpecError`` and nothing exists yet).  ``check=True`` turns a
task that did not succeed into ``TaskFailed``, carrying the result and the
task's error document, as ``subprocess.run(check=True)`` does for commands.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any

from podtask._authoring import Task
from podtask._errors import SpecError, TaskFailed
from podtask._lifecycle import DEFAULT_SYSTEM_RETRIES, TaskPhase
from podtask._run import Engine, EngineOptions, Runner, RunOptions, RunResult
from podtask.engines import get_engine


def run(
    task: Task | str | PathLike[str],
    /,
    inputs: Mapping[str, Any] | None = None,
    *,
    task_name: str | None = None,
    engine: str | Engine = "local",
    options: EngineOptions | None = None,
    check: bool = True,
    image: str | None = None,
    grace: float | None = None,
    sidecar_mode: str | None = None,
    system_retries: int = DEFAULT_SYSTEM_RETRIES,
    cancel: threading.Event | None = None,
    notice: Callable[[str], None] | None = None,
    **input_values: Any,
) -> RunResult:
    """Run ``task`` (a ``Task``, or the path of a file defining it) and return its result.

    Inputs are Python values, given as ``inputs={...}`` or as keyword
    arguments.  ``engine`` is ``"local"``, ``"podman"``, ``"kubernetes"`` or
    an engine object; ``options`` are that engine's own, typed
    (``KubernetesOptions(namespace=..., storage=...)``; a mismatch is a
    ``SpecError``).  Raises ``SpecError`` for bad input (nothing started)
    and, with ``check``, ``TaskFailed`` when the run did not succeed.
    """
    path, name = _locate(task, task_name)
    run_options = RunOptions(
        engine=get_engine(engine) if isinstance(engine, str) else engine,
        engine_options=options or EngineOptions(),
        inputs={**(inputs or {}), **input_values},
        image=image,
        grace=grace,
        sidecar_mode=sidecar_mode,
        system_retries=system_retries,
        cancel=cancel or threading.Event(),
        notice=notice or (lambda _m: None),
    )
    result = Runner(path, name, run_options).run()
    if check and result.phase is not TaskPhase.SUCCEEDED:
        raise TaskFailed(
            f"{result.task} {result.phase} ({result.reason}): {result.message}",
            exit_code=result.exit_code,
            reason=result.reason,
            result=result,
            error=result.error,
        )
    return result


def _locate(task: Task | str | PathLike[str], task_name: str | None) -> tuple[str, str | None]:
    """The file that defines the task, and its name in that file."""
    if isinstance(task, Task):
        source = inspect.getsourcefile(task.fn)
        if source is None:
            raise SpecError(
                f"task {task.name!r} has no source file",
                field="task",
                hint="define it in a .py file: the pod loads it from there",
            )
        return source, task.name
    return str(task), task_name
