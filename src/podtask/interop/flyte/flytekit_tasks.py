"""flytekit tasks as podtask ``Task`` s, so ``podtask run``/``compile`` take them as they are.

A ``@task(pod_template=PodTemplate(...))`` becomes a podtask task with the
same pod (the ``V1PodSpec`` goes through podtask's normalizer), primary
container, labels, annotations, image, requests and limits, environment,
retries, timeout, cache settings and interruptible flag; a flytekit task
without a pod template becomes a one-container pod.  The function runs as
written: ``FlyteFile`` / ``FlyteDirectory`` inputs arrive as such, naming
local files and directories, and their outputs are stored like podtask's
``Path`` / ``Directory`` outputs.

What podtask cannot honour is refused with the field named, nothing started:
``pod_template_name`` (it names a PodTemplate object on a Flyte cluster),
``secret_requests``, an ``ImageSpec`` image, types outside podtask's.  A
``@workflow`` is not a task; naming one says so.

Loaded by name from ``podtask._authoring.discover`` when it meets an object
from flytekit: authoring does not depend on this layer, and flytekit is
imported only when a user's module already did.
"""

from __future__ import annotations

import inspect
from typing import Any

from podtask._authoring import Task
from podtask._errors import SpecError
from podtask._types import LiteralType, Types
from podtask.interop.flyte.sdk_tasks import FileTypes, SdkTask, build_task, refuse

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
            return build_task(_read(value), _FILES)
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


def _read(ft: Any) -> SdkTask:
    fn = ft.task_function
    where = fn.__name__
    md = ft.metadata
    if md.pod_template_name:
        raise refuse(
            where,
            "pod_template_name",
            f"pod_template_name {md.pod_template_name!r} names a PodTemplate on a Flyte cluster",
            "write pod_template=PodTemplate(pod_spec=..., primary_container_name=...)",
        )
    if getattr(ft.security_context, "secrets", None):
        raise refuse(
            where,
            "secret_requests",
            "secret_requests need a Flyte secrets backend, which podtask does not have",
            "pass secrets as inputs or environment variables",
        )
    image = ft.container_image
    if image is not None and not isinstance(image, str):
        raise refuse(
            where,
            "container_image",
            f"container_image {type(image).__name__} is not an image name",
            "give the image as a string, or --image on the command line",
        )
    params = inspect.signature(fn).parameters
    return SdkTask(
        fn=fn,
        inputs={n: (h, params[n].default) for n, h in ft.python_interface.inputs.items()},
        outputs=dict(ft.python_interface.outputs),
        pod_template=ft.pod_template,
        image=image,
        resources=_resources(ft.resources),
        env=ft.environment,
        retries=md.retries,
        timeout=md.timeout,
        cache=bool(md.cache),
        cache_version=md.cache_version or "",
        interruptible=bool(md.interruptible),
        deprecated=md.deprecated or "",
    )


def _resources(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, suffix in (("requests", ""), ("limits", "_limit")):
        res = getattr(spec, section, None) if spec is not None else None
        for name, option in _RESOURCES.items():
            value = getattr(res, name, None) if res is not None else None
            if value is not None:
                out[option + suffix] = value
    return out


def _file_type(hint: Any) -> LiteralType | None:
    """``FlyteFile`` is a Blob, ``FlyteFile["csv"]`` a CSV, ``FlyteDirectory`` a Directory."""
    from flytekit.types.directory import FlyteDirectory
    from flytekit.types.file import FlyteFile

    if not inspect.isclass(hint):
        return None
    if issubclass(hint, FlyteFile):
        extension: str = getattr(hint, "extension")()  # noqa: B009 (a classmethod of FlyteFile)
        return Types.CSV if extension == "csv" else Types.Blob
    if issubclass(hint, FlyteDirectory):
        return Types.Directory
    return None


def _wrap(path: str, t: LiteralType) -> Any:
    from flytekit.types.directory import FlyteDirectory
    from flytekit.types.file import FlyteFile

    return FlyteDirectory(path) if t == Types.Directory else FlyteFile(path)


def _unwrap(value: Any) -> Any:
    from flytekit.types.directory import FlyteDirectory
    from flytekit.types.file import FlyteFile

    return str(value.path) if isinstance(value, (FlyteFile, FlyteDirectory)) else value


_FILES = FileTypes(literal_type=_file_type, wrap=_wrap, unwrap=_unwrap)
