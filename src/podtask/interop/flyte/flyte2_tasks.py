"""Flyte 2 SDK tasks (``flyte``: ``TaskEnvironment(...)`` + ``@env.task``) as podtask ``Task`` s.

The environment's ``pod_template``, ``resources``, ``env_vars``,
``interruptible`` and the task's ``retries``, ``timeout`` and ``cache`` carry
over; sync and ``async`` functions both run (a coroutine is awaited).  Flyte 2
runs only the function when it runs locally; podtask runs the pod.

``flyte.io.File`` is a Blob and ``flyte.io.Dir`` a Directory (the blob types
Flyte 2 declares for them: single, multipart, no format); the function gets
``File``/``Dir`` values naming local paths, and a returned one's local path is
stored like a ``Path``/``Directory`` output.  Their ``from_local`` helpers
need ``flyte.init()``, which a Flyte 2 user calls before a local run, so it is
called (once, with no endpoint: local only) before the function runs.

Refused with the field named when the task is asked for: a ``pod_template``
given by name (a cluster object), ``secrets``, and types outside podtask's.
An ``Image`` object (Flyte 2 builds images itself) is not an image name: the
task runs in ``--image`` or the default image.
"""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
from collections.abc import Callable
from typing import Any

from podtask._authoring import Task
from podtask._errors import SpecError
from podtask._types import LiteralType, Types
from podtask.interop.flyte.sdk_tasks import NO_DEFAULT, FileTypes, SdkTask, build_task, refuse


def _file_type(hint: Any) -> LiteralType | None:
    from flyte.io import Dir, File

    if inspect.isclass(hint) and issubclass(hint, File):
        return Types.Blob
    if inspect.isclass(hint) and issubclass(hint, Dir):
        return Types.Directory
    return None


def _wrap(path: str, t: LiteralType) -> Any:
    from flyte.io import Dir, File

    return Dir(path=path) if t == Types.Directory else File(path=path)


def _unwrap(value: Any) -> Any:
    from flyte.io import Dir, File

    return value.path if isinstance(value, (File, Dir)) else value


_FILES = FileTypes(literal_type=_file_type, wrap=_wrap, unwrap=_unwrap)


def _initialized(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run after ``flyte.init()`` (if nothing initialized flyte yet)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        from flyte._initialize import is_initialized

        import flyte

        if not is_initialized():
            flyte.init()
        return fn(*args, **kwargs)

    return call


def as_task(value: object, *, named: bool = False) -> Task | None:
    """The podtask ``Task`` for a Flyte 2 task, None for other ``flyte`` objects."""
    try:
        from flyte import TaskTemplate
    except ImportError:  # a user's own module named "flyte"
        return None
    if not isinstance(value, TaskTemplate) or getattr(value, "func", None) is None:
        return None
    try:
        return build_task(_read(value), _FILES)
    except SpecError:
        if named:
            raise
        return None


def _read(t: Any) -> SdkTask:
    fn = t.func
    where = fn.__name__
    template = t.pod_template
    if isinstance(template, str):
        raise refuse(
            where,
            "pod_template",
            f"pod_template {template!r} names a PodTemplate on a Flyte cluster",
            "give flyte.PodTemplate(pod_spec=..., primary_container_name=...)",
        )
    if t.secrets:
        raise refuse(
            where,
            "secrets",
            "secrets need a Flyte secrets backend, which podtask does not have",
            "pass secrets as inputs or environment variables",
        )
    cache = t.cache
    return SdkTask(
        fn=_initialized(fn),
        inputs={
            name: (hint, NO_DEFAULT if default is NO_DEFAULT else default)
            for name, (hint, default) in t.native_interface.inputs.items()
        },
        outputs=dict(t.native_interface.outputs),
        pod_template=template,
        image=t.image if isinstance(t.image, str) and t.image != "auto" else None,
        resources=_resources(t.resources, where),
        env=t.env_vars,
        retries=getattr(t.retries, "count", t.retries),
        timeout=_seconds(t.timeout),
        cache=getattr(cache, "behavior", "disable") != "disable",
        cache_version=getattr(cache, "version_override", None) or "",
        interruptible=bool(t.interruptible),
    )


def _seconds(timeout: Any) -> Any:
    """int seconds, a timedelta, or ``flyte.Timeout(max_runtime=...)``."""
    value = getattr(timeout, "max_runtime", timeout)
    return value.total_seconds() if isinstance(value, _dt.timedelta) else value


def _resources(res: Any, where: str) -> dict[str, Any]:
    """cpu/memory may be (request, limit) pairs; gpu a count or ``"T4:1"``; disk is storage."""
    out: dict[str, Any] = {}
    if res is None:
        return out
    for name, option in (("cpu", "cpu"), ("memory", "memory"), ("disk", "storage")):
        value = getattr(res, name, None)
        if isinstance(value, tuple):
            out[option], out[f"{option}_limit"] = value
        elif value is not None:
            out[option] = value
    gpu = getattr(res, "gpu", None)
    if isinstance(gpu, str) and ":" in gpu:
        gpu = gpu.rsplit(":", 1)[1]
    if gpu is not None and not isinstance(gpu, (int, str)):
        raise refuse(where, "resources.gpu", f"GPU device {gpu!r}", "give a number of GPUs")
    if gpu is not None:
        out["gpu"] = gpu
    return out
