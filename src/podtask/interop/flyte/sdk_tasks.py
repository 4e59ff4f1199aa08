"""What the flytekit and Flyte 2 adapters share: one way from an SDK task to a podtask ``Task``.

Each adapter reads its SDK's task object into an :class:`SdkTask` (plain
values, hints and defaults); :func:`build_task` validates it with podtask's
own option checks and makes the ``Task``.  File and directory types are the
adapters' business (``files``: how a hint maps to Blob/CSV/Directory and how
values cross).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podtask._authoring import MODERN, Interface, Pod, Task, Variable
from podtask._authoring.task import check_options
from podtask._errors import SpecError
from podtask._types import LiteralType, to_literal, type_from_hint

NO_DEFAULT = inspect.Parameter.empty


@dataclass(frozen=True)
class FileTypes:
    """How an SDK's file and directory types map onto podtask's, and how values cross over."""

    # hint -> Blob/CSV/Directory, None: not a file or directory type
    literal_type: Callable[[Any], LiteralType | None]
    # a local path and its type (Blob, CSV or Directory) -> the SDK's value
    wrap: Callable[[str, LiteralType], Any]
    # the SDK's file or directory value -> a local path (other values unchanged)
    unwrap: Callable[[Any], Any]


@dataclass(frozen=True, kw_only=True)
class SdkTask:
    fn: Callable[..., Any]
    inputs: Mapping[str, tuple[Any, Any]]  # name -> (hint, default or NO_DEFAULT)
    outputs: Mapping[str, Any]  # name -> hint
    pod_template: Any = None  # an object with pod_spec, primary_container_name, labels, ...
    image: str | None = None
    resources: Mapping[str, Any] = field(default_factory=dict)  # podtask option names
    env: Mapping[str, str] | None = None
    retries: int = 0
    timeout: Any = None
    cache: bool = False
    cache_version: str = ""
    interruptible: bool = False
    deprecated: str = ""


def build_task(sdk: SdkTask, files: FileTypes) -> Task:
    where = sdk.fn.__name__
    pod = None
    if sdk.pod_template is not None:
        t = sdk.pod_template
        pod = Pod(
            spec=t.pod_spec,
            primary_container=t.primary_container_name,
            labels=dict(t.labels or {}),
            annotations=dict(t.annotations or {}),
        )
    retries, timeout, env = check_options(
        where=where,
        retries=sdk.retries,
        timeout=sdk.timeout or None,  # the SDKs' "no timeout" is 0
        env=sdk.env,
        image=sdk.image,
        pod=pod,
    )
    interface = _interface(sdk, files, where)
    return Task(
        fn=_adapt(sdk.fn, interface, files),
        style=MODERN,
        interface=interface,
        pod=pod,
        image=sdk.image,
        resources=dict(sdk.resources),
        env=env,
        retries=retries,
        timeout=timeout,
        interruptible=sdk.interruptible,
        deprecated=sdk.deprecated,
        cache=sdk.cache,
        cache_version=sdk.cache_version,
    )


def _type(hint: Any, files: FileTypes, where: str) -> LiteralType:
    file_type = files.literal_type(hint)
    if file_type is not None:
        return file_type
    if typing.get_origin(hint) is list and len(typing.get_args(hint)) == 1:
        from podtask._types import Types

        return Types.List(_type(typing.get_args(hint)[0], files, where))
    return type_from_hint(hint, where=where)


def _interface(sdk: SdkTask, files: FileTypes, where: str) -> Interface:
    inputs = []
    for name, (hint, default) in sdk.inputs.items():
        t = _type(hint, files, f"{where}.{name}")
        if default is NO_DEFAULT:
            inputs.append(Variable(name, t))
        else:
            literal = to_literal(files.unwrap(default), t, name=f"{where}.{name}")
            inputs.append(Variable(name, t, has_default=True, default=literal))
    outputs = [
        Variable(name, _type(hint, files, f"{where}.return.{name}"))
        for name, hint in sdk.outputs.items()
    ]
    return Interface(inputs=tuple(inputs), outputs=tuple(outputs))


_PATH_KINDS = ("blob", "csv", "directory")


def _has_file(t: LiteralType) -> bool:
    return t.kind in _PATH_KINDS or (t.element is not None and _has_file(t.element))


def _adapt(fn: Callable[..., Any], interface: Interface, files: FileTypes) -> Callable[..., Any]:
    """Call ``fn`` as its SDK would: file values in the SDK's type, coroutines awaited."""
    file_inputs = {v.name: v.type for v in interface.inputs if _has_file(v.type)}
    multiple = len(interface.outputs) > 1

    def wrap(value: Any, t: LiteralType) -> Any:
        if t.kind == "list" and t.element is not None:
            return [wrap(v, t.element) for v in value]
        return files.wrap(str(value), t) if t.kind in _PATH_KINDS else value

    def unwrap(value: Any) -> Any:
        return [unwrap(v) for v in value] if isinstance(value, list) else files.unwrap(value)

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        for name, t in file_inputs.items():
            if name in kwargs:
                kwargs[name] = wrap(kwargs[name], t)
        result = fn(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        if isinstance(result, tuple) and hasattr(result, "_fields"):
            return type(result)(*(unwrap(v) for v in result))
        if multiple and isinstance(result, tuple):
            return tuple(unwrap(v) for v in result)
        return unwrap(result)

    return call


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def refuse(where: str, field: str, message: str, hint: str) -> SpecError:
    return SpecError(message, field=f"{where}.{field}", hint=hint)
