"""Find the tasks of a Python file, and load one task by reference.

A task is referred to as ``MODULE:NAME`` where MODULE is the dotted name under
the file's *source root* (the first directory upwards without an
``__init__.py``).  The reference carries no absolute path, so compiled output
is the same on every machine, and inside a container the entrypoint finds the
code with the source root on ``sys.path``.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from podtask._authoring.task import Task
from podtask._errors import SpecError


@dataclass(frozen=True)
class SourceRef:
    path: Path  # the file, resolved
    root: Path  # directory to put on sys.path
    module: str  # dotted module name under root


def source_ref(path: str | Path) -> SourceRef:
    p = Path(path).expanduser()
    if not p.exists():
        raise SpecError(f"no such file: {path}", field="FILE", hint="give the path of a .py file")
    if p.suffix != ".py" or not p.is_file():
        raise SpecError(
            f"{path} is not a Python file", field="FILE", hint="give the path of a .py file"
        )
    p = p.resolve()
    parts = [p.stem]
    root = p.parent
    while (root / "__init__.py").exists() and root.parent != root:
        parts.insert(0, root.name)
        root = root.parent
    return SourceRef(path=p, root=root, module=".".join(parts))


def import_module(root: Path, module: str) -> ModuleType:
    """Import ``module`` with ``root`` first on sys.path; user errors become SpecError."""
    root_s = str(root)
    if root_s not in sys.path:
        sys.path.insert(0, root_s)
    try:
        return importlib.import_module(module)
    except SpecError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise SpecError(f"cannot import {module} from {root}", field="--task") from exc
        raise SpecError(
            f"importing {module} failed: {exc}",
            hint="install the missing package or fix the import",
        ) from exc
    except Exception as exc:
        tb = "".join(traceback.format_exception(exc)[-6:])
        raise SpecError(f"importing {module} raised {type(exc).__name__}: {exc}\n{tb}") from exc


# Other SDKs' task objects, adapted by podtask.interop; loaded by name when such an object
# is met (authoring does not depend on that layer, and the SDK is already imported by then).
_ADAPTERS = {
    "flytekit": "podtask.interop.flyte.flytekit_tasks:as_task",
    "flyte": "podtask.interop.flyte.flyte2_tasks:as_task",  # the Flyte 2 SDK
}


def _as_task(value: object, *, named: bool = False) -> object:
    adapter = _ADAPTERS.get(type(value).__module__.partition(".")[0])
    if adapter is None:
        return value
    module, _, attr = adapter.partition(":")
    return getattr(importlib.import_module(module), attr)(value, named=named)


def tasks_in(module: ModuleType) -> list[Task]:
    """Tasks defined in ``module`` itself (not imported from elsewhere), in definition order."""
    found: list[Task] = []
    for value in map(_as_task, vars(module).values()):
        if isinstance(value, Task) and value.module == module.__name__ and value not in found:
            value.check_complete()
            found.append(value)
    return found


def load_tasks(path: str | Path, name: str | None = None) -> tuple[SourceRef, list[Task]]:
    ref = source_ref(path)
    module = import_module(ref.root, ref.module)
    tasks = tasks_in(module)
    if name is not None:
        chosen = [t for t in tasks if t.name == name]
        if not chosen:
            _as_task(getattr(module, name, None), named=True)  # a flytekit @workflow: say so
            names = ", ".join(t.name for t in tasks) or "none"
            raise SpecError(
                f"no task named {name!r} in {path}",
                field="--task" if name else "TASK",
                hint=f"tasks in that file: {names}",
            )
        return ref, chosen
    if not tasks:
        raise SpecError(
            f"{path} defines no task",
            hint="decorate a function with @podtask.task or @sidecar_task",
        )
    return ref, tasks


def load_task(reference: str) -> Task:
    """Load ``MODULE:NAME`` (the entrypoint's ``--task``); the source root must be on sys.path."""
    module_name, sep, name = reference.partition(":")
    if not sep or not module_name or not name:
        raise SpecError(
            f"bad task reference {reference!r}", field="--task", hint="write MODULE:NAME"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise SpecError(f"cannot import {module_name}: {exc}", field="--task") from exc
    value = _as_task(getattr(module, name, None))
    if not isinstance(value, Task):
        raise SpecError(f"{reference} is not a task", field="--task")
    value.check_complete()
    return value
