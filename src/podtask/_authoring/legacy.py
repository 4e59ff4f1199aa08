"""The seed's authoring API: ``@inputs``, ``@outputs``, ``@python_task``, ``@sidecar_task``.

Written so that the seed's examples work with only the import changed.  The
decorators stack in the seed's order (``@inputs`` / ``@outputs`` above the task
decorator) and also below it; each application re-checks what it can, and
``Task.check_complete`` runs once loading is done.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from podtask._authoring.broken import BrokenTask, broken_or_raise
from podtask._authoring.options import Pod, Quantity
from podtask._authoring.task import LEGACY, Interface, Task, Variable, check_options
from podtask._errors import SpecError
from podtask._types import LiteralType

_PENDING_IN = "__podtask_inputs__"
_PENDING_OUT = "__podtask_outputs__"

_RESOURCE_ARGS = (
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "gpu_request",
    "gpu_limit",
    "storage_request",
    "storage_limit",
)


class Output:
    """The seed's output handle: the task body calls ``out1.set(value)``."""

    __slots__ = ("_set", "_value", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._value: Any = None
        self._set = False

    def set(self, value: Any) -> None:
        self._value = value
        self._set = True

    @property
    def is_set(self) -> bool:
        return self._set

    @property
    def value(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return f"Output({self.name!r}, set={self._set})"


def _check_types(kind: str, types: Mapping[str, Any]) -> tuple[Variable, ...]:
    out = []
    for name, t in types.items():
        if not isinstance(t, LiteralType):
            raise SpecError(
                f"{t!r} is not a Types member",
                field=f"@{kind}.{name}",
                hint="use Types.String, Types.Integer, ..., or Types.List(Types.X)",
            )
        out.append(Variable(name, t))
    return tuple(out)


def _merge(
    task: Task, *, inputs: tuple[Variable, ...] = (), outputs: tuple[Variable, ...] = ()
) -> Task:
    params = task.parameters()
    iface = task.interface
    for kind, new, old, other in (
        ("inputs", inputs, iface.inputs, iface.outputs),
        ("outputs", outputs, iface.outputs, iface.inputs),
    ):
        for v in new:
            if v.name not in params:
                raise SpecError(
                    f"{v.name!r} is not a parameter of {task.name}({', '.join(params)})",
                    field=f"@{kind}.{v.name}",
                    hint=f"rename it or add a parameter {v.name} after wf_params",
                )
            if any(o.name == v.name for o in (*old, *other)):
                raise SpecError(
                    f"{v.name!r} is declared twice (inputs and outputs need distinct names)",
                    field=f"@{kind}.{v.name}",
                )
    order = {p: i for i, p in enumerate(params)}
    new_in = tuple(sorted((*iface.inputs, *inputs), key=lambda v: order[v.name]))
    new_out = tuple(sorted((*iface.outputs, *outputs), key=lambda v: order[v.name]))
    return task.with_interface(Interface(inputs=new_in, outputs=new_out))


def _declare(kind: str, types: Mapping[str, Any]) -> Callable[[Any], Any]:
    variables = _check_types(kind, types)

    def apply(target: Any) -> Any:
        if isinstance(target, BrokenTask):
            return target
        if isinstance(target, Task):
            try:
                if kind == "inputs":
                    return _merge(target, inputs=variables)
                return _merge(target, outputs=variables)
            except SpecError as exc:
                return broken_or_raise(target.fn, exc)
        if callable(target):
            # Below the task decorator: remember on the function until it is wrapped.
            attr = _PENDING_IN if kind == "inputs" else _PENDING_OUT
            pending = (*getattr(target, attr, ()), *variables)
            setattr(target, attr, pending)
            return target
        raise SpecError(
            f"@{kind} must decorate a task or a function, got {target!r}", field=f"@{kind}"
        )

    return apply


def inputs(**types: LiteralType) -> Callable[[Any], Any]:
    """Declare task inputs: ``@inputs(in1=Types.String)``."""
    return _declare("inputs", types)


def outputs(**types: LiteralType) -> Callable[[Any], Any]:
    """Declare task outputs: ``@outputs(out1=Types.String)``; the body calls ``out1.set(v)``."""
    return _declare("outputs", types)


def _build(fn: Callable[..., Any], pod: Pod | None, opts: dict[str, Any]) -> Task:
    if not callable(fn) or isinstance(fn, Task):
        raise SpecError(f"a task decorator must wrap a function, got {fn!r}")
    params = list(inspect.signature(fn).parameters)
    if not params:
        raise SpecError(
            f"{fn.__name__} must take wf_params as its first parameter",
            field=f"{fn.__name__}.wf_params",
            hint=f"write def {fn.__name__}(wf_params, ...)",
        )
    where = fn.__name__
    environment = opts.pop("environment", None)
    retries, timeout, env = check_options(
        where=where,
        retries=opts.pop("retries", 0),
        timeout=opts.pop("timeout", None),
        env=environment,
        image=opts.pop("image", None),
        pod=pod,
    )
    resources: dict[str, Quantity] = {}
    for arg in _RESOURCE_ARGS:
        value = opts.pop(arg, None)
        if value is not None:
            resources[arg] = value
    task = Task(
        fn=fn,
        style=LEGACY,
        pod=pod,
        resources=resources,
        env=env,
        retries=retries,
        timeout=timeout,
        interruptible=bool(opts.pop("interruptible", False)),
        deprecated=str(opts.pop("deprecated", "") or ""),
        cache=bool(opts.pop("cache", False)),
        cache_version=str(opts.pop("cache_version", "") or ""),
    )
    if opts:
        raise SpecError(f"unknown option {sorted(opts)[0]!r}", field=f"{where}.{sorted(opts)[0]}")
    pending_in = getattr(fn, _PENDING_IN, ())
    pending_out = getattr(fn, _PENDING_OUT, ())
    if pending_in or pending_out:
        task = _merge(task, inputs=pending_in, outputs=pending_out)
    return task


def _build_or_defer(fn: Any, pod: Pod | None, opts: dict[str, Any]) -> Task | BrokenTask:
    if isinstance(fn, BrokenTask):
        return fn
    try:
        return _build(fn, pod, opts)
    except SpecError as exc:
        return broken_or_raise(fn, exc)


def python_task(
    _fn: Callable[..., Any] | None = None,
    *,
    cache_version: str = "",
    retries: int = 0,
    interruptible: bool = False,
    deprecated: str = "",
    storage_request: Quantity | None = None,
    cpu_request: Quantity | None = None,
    gpu_request: Quantity | None = None,
    memory_request: Quantity | None = None,
    storage_limit: Quantity | None = None,
    cpu_limit: Quantity | None = None,
    gpu_limit: Quantity | None = None,
    memory_limit: Quantity | None = None,
    cache: bool = False,
    timeout: Any = None,
    environment: Mapping[str, str] | None = None,
    image: str | None = None,
) -> Any:
    """The seed's ``@python_task`` / ``@python_task(...)``: the function alone in a container."""
    opts = {k: v for k, v in locals().items() if k != "_fn"}

    def wrap(fn: Callable[..., Any]) -> Task | BrokenTask:
        return _build_or_defer(fn, None, dict(opts))

    return wrap(_fn) if _fn is not None else wrap


def sidecar_task(
    _fn: Callable[..., Any] | None = None,
    *,
    pod_spec: Any = None,
    primary_container_name: str | None = None,
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    sidecar_failure: str = "ignore",
    sidecar_mode: str | None = None,
    cache_version: str = "",
    retries: int = 0,
    interruptible: bool = False,
    deprecated: str = "",
    storage_request: Quantity | None = None,
    cpu_request: Quantity | None = None,
    gpu_request: Quantity | None = None,
    memory_request: Quantity | None = None,
    storage_limit: Quantity | None = None,
    cpu_limit: Quantity | None = None,
    gpu_limit: Quantity | None = None,
    memory_limit: Quantity | None = None,
    cache: bool = False,
    timeout: Any = None,
    environment: Mapping[str, str] | None = None,
    image: str | None = None,
) -> Any:
    """The seed's ``@sidecar_task(pod_spec=..., primary_container_name=...)``.

    ``pod_spec`` and ``primary_container_name`` are required as in the seed;
    the pod spec is normalized and validated when the task is compiled.
    """
    opts = {
        k: v
        for k, v in locals().items()
        if k
        not in (
            "_fn",
            "pod_spec",
            "primary_container_name",
            "annotations",
            "labels",
            "sidecar_failure",
            "sidecar_mode",
        )
    }
    if pod_spec is None:
        raise SpecError("sidecar_task needs a pod_spec", field="pod_spec", hint="pass pod_spec=...")
    if primary_container_name is None:
        raise SpecError(
            "sidecar_task needs primary_container_name",
            field="primary_container_name",
            hint='pass primary_container_name="primary"',
        )
    pod = Pod(
        spec=pod_spec,
        primary_container=primary_container_name,
        labels=dict(labels or {}),
        annotations=dict(annotations or {}),
        sidecar_failure=sidecar_failure,
        sidecar_mode=sidecar_mode,
    )

    def wrap(fn: Callable[..., Any]) -> Task | BrokenTask:
        return _build_or_defer(fn, pod, dict(opts))

    return wrap(_fn) if _fn is not None else wrap
