"""The modern typed API: ``@podtask.task`` reads inputs and outputs from type hints.

Outputs come from the return annotation: a single type is output ``o0``, a
``tuple[...]`` gives ``o0, o1, ...`` and a ``NamedTuple`` names its fields (so
``class Out(NamedTuple): out1: str`` gives an output ``out1``), as in Flyte.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from podtask._authoring.broken import BrokenTask, broken_or_raise
from podtask._authoring.options import Pod, Resources
from podtask._authoring.task import MODERN, Interface, Task, Variable, check_options
from podtask._errors import SpecError
from podtask._types import to_literal, type_from_hint


def _is_namedtuple(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields")


def _interface(fn: Callable[..., Any]) -> Interface:
    where = fn.__name__
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # a NameError in an annotation, usually
        raise SpecError(f"cannot resolve the type hints of {where}: {exc}", field=where) from exc
    ins: list[Variable] = []
    for name, p in inspect.signature(fn).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise SpecError(f"*{name} parameters cannot be task inputs", field=f"{where}.{name}")
        if name not in hints:
            raise SpecError(
                f"parameter {name!r} has no type hint",
                field=f"{where}.{name}",
                hint=f"annotate it, e.g. {name}: str",
            )
        t = type_from_hint(hints[name], where=f"{where}.{name}")
        if p.default is not inspect.Parameter.empty:
            ins.append(Variable(name, t, True, to_literal(p.default, t, name=f"{where}.{name}")))
        else:
            ins.append(Variable(name, t))
    ret = hints.get("return", type(None))
    outs: list[Variable] = []
    if ret is not type(None) and ret is not None:
        if _is_namedtuple(ret):
            field_hints = typing.get_type_hints(ret)
            for f in ret._fields:
                outs.append(
                    Variable(f, type_from_hint(field_hints[f], where=f"{where}.return.{f}"))
                )
        elif typing.get_origin(ret) is tuple:
            for i, h in enumerate(typing.get_args(ret)):
                outs.append(Variable(f"o{i}", type_from_hint(h, where=f"{where}.return[{i}]")))
        else:
            outs.append(Variable("o0", type_from_hint(ret, where=f"{where}.return")))
    names = [v.name for v in ins]
    for v in outs:
        if v.name in names:
            raise SpecError(
                f"output {v.name!r} has the name of an input", field=f"{where}.return.{v.name}"
            )
    return Interface(inputs=tuple(ins), outputs=tuple(outs))


def task(
    _fn: Callable[..., Any] | None = None,
    *,
    pod: Pod | None = None,
    resources: Resources | None = None,
    env: Mapping[str, str] | None = None,
    image: str | None = None,
    retries: int = 0,
    timeout: Any = None,
    cache: bool = False,
    cache_version: str = "",
    interruptible: bool = False,
) -> Any:
    """Make a task of a typed function; with ``pod=Pod(...)`` it is a sidecar task.

    The result is still callable as plain Python: ``add(a=1, b=2)`` returns 3.
    """
    if pod is not None and not isinstance(pod, Pod):
        raise SpecError(f"pod must be a podtask.Pod, got {type(pod).__name__}", field="pod")
    if resources is not None and not isinstance(resources, Resources):
        raise SpecError(
            f"resources must be a podtask.Resources, got {type(resources).__name__}",
            field="resources",
        )

    def wrap(fn: Callable[..., Any]) -> Task | BrokenTask:
        if isinstance(fn, BrokenTask):
            return fn
        if not callable(fn) or isinstance(fn, Task):
            raise SpecError(f"@task must wrap a function, got {fn!r}")
        try:
            return _build(fn)
        except SpecError as exc:
            return broken_or_raise(fn, exc)

    def _build(fn: Callable[..., Any]) -> Task:
        r, t, e = check_options(
            where=fn.__name__, retries=retries, timeout=timeout, env=env, image=image, pod=pod
        )
        return Task(
            fn=fn,
            style=MODERN,
            interface=_interface(fn),
            pod=pod,
            image=image,
            resources=resources.by_option() if resources else {},
            env=e,
            retries=r,
            timeout=t,
            interruptible=interruptible,
            cache=cache,
            cache_version=cache_version,
        )

    return wrap(_fn) if _fn is not None else wrap
