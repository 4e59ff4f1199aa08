"""``@podtask.workflow`` and ``podtask.map``: what users write.

A ``Workflow`` is still a plain Python function when called outside a build:
every task then runs in-process (no engine, no pod), so a workflow can be unit
tested like a task. Its graph is built on first use and kept.
"""

from __future__ import annotations

import logging
import tempfile
from collections import namedtuple
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from podtask._authoring import LEGACY, Interface, Output, Task
from podtask._authoring.modern import _interface
from podtask._authoring.task import CALL_HOOK
from podtask._errors import SpecError
from podtask._flow.build import Builder, _is_spread, add_map, build_graph, inline
from podtask._flow.graph import Graph


class Workflow:
    """A function whose body wires tasks together; see ``podtask.workflow``."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.interface: Interface = _interface(fn)
        self._graph: Graph | None = None
        for attr in ("__doc__", "__name__", "__qualname__", "__module__"):
            setattr(self, attr, getattr(fn, attr, None))
        self.__wrapped__ = fn

    @property
    def name(self) -> str:
        return str(self.fn.__name__)

    @property
    def module(self) -> str:
        return str(self.fn.__module__)

    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = build_graph(self)
        return self._graph

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hook = CALL_HOOK.get()
        if isinstance(hook, Builder):
            if args:
                raise SpecError(f"pass the inputs of sub-workflow {self.name} by name")
            return inline(hook, self, kwargs)
        if hook is not None:  # already running in-process (a sub-workflow)
            return self.fn(*args, **kwargs)
        token = CALL_HOOK.set(call_in_process)
        try:
            return self.fn(*args, **kwargs)
        finally:
            CALL_HOOK.reset(token)

    def __repr__(self) -> str:
        return f"Workflow({self.module}:{self.name})"


def workflow(fn: Callable[..., Any]) -> Workflow:
    """Make a workflow of a typed function whose body calls tasks (see the README, "Workflows").

    Inputs and the return type are annotated as for ``@podtask.task``; the body
    runs once at definition time with promises to build the graph, so it may
    only call tasks, sub-workflows and ``podtask.map`` and pass their results on.
    """
    if not callable(fn) or isinstance(fn, (Task, Workflow)):
        raise SpecError(f"@workflow must wrap a function, got {fn!r}")
    return Workflow(fn)


class Mapped:
    """``podtask.map(task, ...)``: called like the task, with lists where it takes one value."""

    def __init__(self, task: Task, concurrency: int | None, min_success_ratio: float) -> None:
        self.task = task
        self.concurrency = concurrency
        self.min_success_ratio = min_success_ratio

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hook = CALL_HOOK.get()
        if isinstance(hook, Builder):
            return add_map(hook, self, args, kwargs)
        return map_in_process(self, kwargs)


def map(task: Task, *, concurrency: int | None = None, min_success_ratio: float = 1.0) -> Mapped:
    """Fan ``task`` out over list inputs; the result lists each element's outputs, in order.

    ``concurrency`` caps how many elements run at once (default: ``--parallel``);
    with ``min_success_ratio`` below 1 the node succeeds when enough elements
    do, and its outputs hold the successful elements' results only.
    """
    if not isinstance(task, Task):
        raise SpecError(f"podtask.map needs a task, got {task!r}", field="map")
    if concurrency is not None and (
        not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1
    ):
        raise SpecError(
            f"concurrency must be a whole number >= 1, got {concurrency!r}",
            field=f"map({task.name}).concurrency",
        )
    if (
        not isinstance(min_success_ratio, (int, float))
        or isinstance(min_success_ratio, bool)
        or not 0 < min_success_ratio <= 1
    ):
        raise SpecError(
            f"min_success_ratio must be in (0, 1], got {min_success_ratio!r}",
            field=f"map({task.name}).min_success_ratio",
        )
    return Mapped(task, concurrency, float(min_success_ratio))


# ------------------------------------------------------------------ in-process runs


def call_in_process(task: Task, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """Run a task as plain Python, both API styles; legacy outputs come back as return values."""
    if task.style != LEGACY:
        return task.fn(*args, **kwargs)
    handles = {v.name: Output(v.name) for v in task.interface.outputs}
    with tempfile.TemporaryDirectory(prefix="podtask-wd-") as scratch:
        params = SimpleNamespace(
            execution_id="in-process",
            attempt=1,
            working_directory=Path(scratch),
            logger=logging.getLogger(f"podtask.task.{task.name}"),
            task_name=task.name,
        )
        task.fn(params, *args, **kwargs, **handles)
    unset = [n for n, h in handles.items() if not h.is_set]
    if unset:
        raise SpecError(f"output {unset[0]!r} of {task.name} was never set", field=unset[0])
    values = [h.value for h in handles.values()]
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    # Named like the outputs, so ``result.out1`` reads the same in a build and in-process.
    return namedtuple(f"{task.name}_outputs", list(handles))(*values)


def map_in_process(mapped: Mapped, kwargs: Mapping[str, Any]) -> Any:
    """``podtask.map(task)(...)`` as plain Python: one in-process call per element, in order."""
    spread = {}
    for name, value in kwargs.items():
        var = mapped.task.interface.input(name)
        if var is not None and _is_spread(value, var.type):
            spread[name] = list(value)
    if not spread:
        raise SpecError(f"podtask.map({mapped.task.name}) needs at least one list input")
    lengths = {len(v) for v in spread.values()}
    if len(lengths) > 1:
        raise SpecError(f"podtask.map({mapped.task.name}): the list inputs differ in length")
    results = []
    for i in range(lengths.pop()):
        element = {**kwargs, **{k: v[i] for k, v in spread.items()}}
        results.append(call_in_process(mapped.task, (), element))
    outs = mapped.task.interface.outputs
    if len(outs) <= 1:
        return results
    return tuple([r[j] for r in results] for j in range(len(outs)))
