"""flytekit tasks as podtask ``Task`` s, so ``podtask run``/``compile`` take them as they are.

A ``@task(pod_template=PodTemplate(...))`` becomes a podtask task with the
same pod (the ``V1PodSpec`` goes through podtask's normalizer), primary
container, labels, annotations, image, requests and limits, environment,
retries, timeout, cache settings and interruptible flag; a flytekit task
without a pod template becomes a one-container pod.  The function runs as
written: ``FlyteFile`` inputs arrive as ``FlyteFile`` s of local files, and
``FlyteFile`` outputs are stored like podtask's ``Path`` outputs.

What podtask cannot honour is refused with the field named, nothing started:
``pod_template_name`` (it names a PodTemplate object on a Flyte cluster),
``secret_requests``, an ``ImageSpec`` image, types outside podtask's.  A
``@workflow`` is not a task; naming one says so.

Loaded by name from ``podtask._authoring.discover`` when it meets an object
from flytekit: authoring does not depend on this layer, and flytekit is
imported only when a user's module already did.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from podtask._authoring import MODERN, Interface, Pod, Task, Variable
from podtask._authoring.task import check_options
from podtask._errors import SpecError
from podtask._types import LiteralType, Types, to_literal, type_from_hint

# flytekit Resources field -> podtask resource option (per section).
_RESOURCES = {"cpu": "cpu", "mem": "memory", "gpu": "gpu", "ephemeral_storage": "storage"}


def as_task(value: object, *, named: bool = False) -> Task | None:
    """The podtask ``Task`` for a flytekit task, None for other flytekit objects.

    ``named``: the user asked for this object by name, so a workflow or a task
    podtask cannot run is refused with the reason; otherwise it is skipped, so
    that one such task does not stop the other tasks of its file from running.
    """
    from flytekit.core.base_task import PythonTask
    from flytekit.core.python_function_task import PythonFunctionTask
    from flytekit.core.workflow import WorkflowBase

    if isinstance(value, WorkflowBase):
        if named:
            raise SpecError(
                f"{value.name} is a flytekit @workflow, not a task",
                field="TASK",
                hint="podtask runs one task at a time: name one of the workflow's tasks",
            )
        return None
    if isinstance(value, PythonFunctionTask):
        try:
            return _convert(value)
        except SpecError:
            if named:
                raise
            return None
    if isinstance(value, PythonTask) and named:
        raise SpecError(
            f"{value.name} is a flytekit {type(value).__name__}, which podtask cannot run",
            field="TASK",
            hint="podtask runs @task functions",
        )
    return None


def _convert(ft: Any) -> Task:
    fn = ft.task_function
    where = fn.__name__
    md = ft.metadata
    if md.pod_template_name:
        raise SpecError(
            f"pod_template_name {md.pod_template_name!r} names a PodTemplate on a Flyte cluster",
            field=f"{where}.pod_template_name",
            hint="write pod_template=PodTemplate(pod_spec=..., primary_container_name=...)",
        )
    secrets = getattr(ft.security_context, "secrets", None)
    if secrets:
        raise SpecError(
            "secret_requests need a Flyte secrets backend, which podtask does not have",
            field=f"{where}.secret_requests",
            hint="pass secrets as inputs or environment variables",
        )
    image = ft.container_image
    if image is not None and not isinstance(image, str):
        raise SpecError(
            f"container_image {type(image).__name__} is not an image name",
            field=f"{where}.container_image",
            hint="give the image as a string, or --image on the command line",
        )
    pod = None
    template = ft.pod_template
    if template is not None:
        pod = Pod(
            spec=template.pod_spec,
            primary_container=template.primary_container_name,
            labels=dict(template.labels or {}),
            annotations=dict(template.annotations or {}),
        )
    retries, timeout, env = check_options(
        where=where,
        retries=md.retries,
        timeout=md.timeout or None,  # flytekit's "no timeout" is a zero timedelta
        env=ft.environment,
        image=image,
        pod=pod,
    )
    interface = _interface(ft, where)
    return Task(
        fn=_adapt(fn, interface),
        style=MODERN,
        interface=interface,
        pod=pod,
        image=image,
        resources=_resources(ft.resources),
        env=env,
        retries=retries,
        timeout=timeout,
        interruptible=bool(md.interruptible),
        deprecated=md.deprecated or "",
        cache=bool(md.cache),
        cache_version=md.cache_version or "",
    )


def _resources(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, suffix in (("requests", ""), ("limits", "_limit")):
        res = getattr(spec, section, None) if spec is not None else None
        for field, option in _RESOURCES.items():
            value = getattr(res, field, None) if res is not None else None
            if value is not None:
                out[option + suffix] = value
    return out


def _type(hint: Any, where: str) -> LiteralType:
    """flytekit hints -> podtask types: ``FlyteFile`` is a Blob, ``FlyteFile["csv"]`` a CSV."""
    from flytekit.types.file import FlyteFile

    if inspect.isclass(hint) and issubclass(hint, FlyteFile):
        extension: str = getattr(hint, "extension")()  # noqa: B009 (a classmethod of FlyteFile)
        return Types.CSV if extension == "csv" else Types.Blob
    if typing.get_origin(hint) is list and len(typing.get_args(hint)) == 1:
        return Types.List(_type(typing.get_args(hint)[0], where))
    return type_from_hint(hint, where=where)


def _interface(ft: Any, where: str) -> Interface:
    params = inspect.signature(ft.task_function).parameters
    inputs = []
    for name, hint in ft.python_interface.inputs.items():
        t = _type(hint, f"{where}.{name}")
        default = params[name].default
        if default is inspect.Parameter.empty:
            inputs.append(Variable(name, t))
        else:
            literal = to_literal(_unwrap(default), t, name=f"{where}.{name}")
            inputs.append(Variable(name, t, has_default=True, default=literal))
    outputs = [
        Variable(name, _type(hint, f"{where}.return.{name}"))
        for name, hint in ft.python_interface.outputs.items()
    ]
    return Interface(inputs=tuple(inputs), outputs=tuple(outputs))


def _unwrap(value: Any) -> Any:
    """A ``FlyteFile`` result (or a list of them) -> its local path, as podtask stores blobs."""
    from flytekit.types.file import FlyteFile

    if isinstance(value, FlyteFile):
        return str(value.path)
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _wrap(value: Any, t: LiteralType) -> Any:
    from flytekit.types.file import FlyteFile

    if t.kind in ("blob", "csv"):
        return FlyteFile(str(value))
    if t.kind == "list" and t.element is not None:
        return [_wrap(v, t.element) for v in value]
    return value


def _adapt(fn: Callable[..., Any], interface: Interface) -> Callable[..., Any]:
    """Call ``fn`` with flytekit's value types for files, and return podtask's."""
    files = {v.name: v.type for v in interface.inputs if _has_blob(v.type)}
    multiple = len(interface.outputs) > 1

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        for name, t in files.items():
            if name in kwargs:
                kwargs[name] = _wrap(kwargs[name], t)
        result = fn(**kwargs)
        if isinstance(result, tuple) and hasattr(result, "_fields"):
            return type(result)(*(_unwrap(v) for v in result))
        if multiple and isinstance(result, tuple):
            return tuple(_unwrap(v) for v in result)
        return _unwrap(result)

    return call


def _has_blob(t: LiteralType) -> bool:
    return t.kind in ("blob", "csv") or (t.element is not None and _has_blob(t.element))
