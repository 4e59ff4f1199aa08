"""Flyte 2 SDK tasks (``flyte``: ``TaskEnvironment(...)`` + ``@env.task``) as podtask ``Task`` s.

The environment's ``pod_template``, ``resources``, ``env_vars``,
``interruptible`` and the task's ``retries``, ``timeout`` and ``cache`` carry
over; sync and ``async`` functions both run (a coroutine is awaited).  Flyte 2
runs only the function when it runs locally; podtask runs the pod.

Refused with the field named when the task is asked for: a ``pod_template``
given by name (a cluster object), ``secrets``, and types outside podtask's
(``flyte.io.File``/``Dir`` among them).  An ``Image`` object (Flyte 2 builds
images itself) is not an image name: the task runs in ``--image`` or the
default image.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from podtask._authoring import Task
from podtask._errors import SpecError
from podtask.interop.flyte.sdk_tasks import NO_DEFAULT, FileTypes, SdkTask, build_task, refuse

_NO_FILES = FileTypes(
    literal_type=lambda _hint: None, wrap=lambda path, _t: path, unwrap=lambda value: value
)


def as_task(value: object, *, named: bool = False) -> Task | None:
    """The podtask ``Task`` for a Flyte 2 task, None for other ``flyte`` objects."""
    try:
        from flyte import TaskTemplate
    except ImportError:  # a user's own module named "flyte"
        return None
    if not isinstance(value, TaskTemplate) or getattr(value, "func", None) is None:
        return None
    try:
        return build_task(_read(value), _NO_FILES)
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
        fn=fn,
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
