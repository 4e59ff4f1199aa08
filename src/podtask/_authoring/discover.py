"""Find the tasks of a Python file, and load one task by reference.

A task is referred to as ``MODULE:NAME`` where MODULE is the dotted name under
the file's *source root* (the first directory upwards without an
``__init__.py``).  The reference carries no absolute path, so compiled output
is the same on every machine, and inside a container the entrypoint finds the
code with the source root on ``sys.path``.

The file is always the one loaded, never a module that merely has its name:
a task file called ``types.py`` or ``logging.py`` would otherwise resolve to
Python's own module (already imported), so such a file is loaded from its
path under a private module name that nothing else can use.

One ill-defined task does not hide the others: files are imported with
decorator errors deferred (see ``broken``), and a broken task's error is
raised only when that task is asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from zlib import crc32

from podtask._authoring.broken import BrokenTask, deferring_errors
from podtask._authoring.task import Task
from podtask._errors import SpecError

#: Prefix of the module name a colliding task file is loaded under.
PRIVATE_PREFIX = "_podtask_file_"


@dataclass(frozen=True)
class SourceRef:
    path: Path  # the file, resolved
    root: Path  # directory to put on sys.path
    module: str  # dotted module name under root


def source_ref(path: str | Path) -> SourceRef:
    p = Path(path).expanduser()
    _check_utf8_name(p)
    if not p.exists():
        if str(path).startswith("-"):  # an unknown option, taken by the parser for FILE
            raise SpecError(
                f"no such option: {path}",
                hint="the command's --help lists its options",
            )
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


def _check_utf8_name(path: Path) -> None:
    """Refuse a path that is not UTF-8: its module name goes into JSON, YAML and the pod spec."""
    try:
        str(path.resolve()).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise SpecError(
            f"the path {shown} is not valid UTF-8 text",
            field="FILE",
            hint="rename the file (and its folders) to UTF-8 names",
        ) from None


def _file_of(module: ModuleType | None) -> Path | None:
    path = getattr(module, "__file__", None)
    try:
        return Path(path).resolve() if path else None
    except OSError:
        return None


def _find_on_path(module: str) -> Path | None:
    """The file ``module`` names on sys.path, found as the path finder would, ignoring caches."""
    rel = Path(*module.split("."))
    for entry in sys.path:
        base = Path(entry or ".")
        for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
    return None


def _private_name(module: str, path: Path) -> str:
    """A module name of the file's own: two ``types.py`` in one process do not meet.

    crc32, not hashlib: hashlib costs the entrypoint ~8 ms of import (OpenSSL).
    """
    return f"{PRIVATE_PREFIX}{module.replace('.', '_')}_{crc32(str(path).encode()):08x}"


def _load_by_path(module: str, path: Path) -> ModuleType:
    name = _private_name(module, path)
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a spec
        raise SpecError(f"cannot load {path}", field="FILE")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


def _collides(module: str, path: Path) -> bool:
    """True when importing ``module`` by name could give something other than ``path``."""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    loaded = sys.modules.get(module)
    return loaded is not None and _file_of(loaded) != path


def _import_file(module: str, path: Path) -> ModuleType:
    with deferring_errors():
        if _collides(module, path):
            return _load_by_path(module, path)
        loaded = importlib.import_module(module)
        if _file_of(loaded) != path:  # an installed module of that name came first on sys.path
            return _load_by_path(module, path)
        return loaded


@contextmanager
def _folder_first(root: str) -> Iterator[None]:
    """The task's folder first on ``sys.path`` only while its module is imported.

    While the task file is imported its own imports follow Python's rule (the
    folder of the script comes first).  Afterwards the folder leaves again:
    podtask imports modules lazily (``hashlib`` when compiling, ``string`` via
    ``logging`` in the pod supervisor forked from this process), and a
    ``hashlib.py`` beside the task must not stand in for them.  The task body
    itself runs in the pod, whose entrypoint puts the folder first again.  A
    folder the user put on ``sys.path`` themselves is left where it is.
    """
    if root in sys.path:
        yield
        return
    sys.path.insert(0, root)
    try:
        yield
    finally:
        while root in sys.path:
            sys.path.remove(root)


def _exit_status(exc: SystemExit) -> str:
    code = exc.code
    if code is None or isinstance(code, int):
        return f"exited ({code or 0})"
    return f"exited: {code}"


def import_module(root: Path, module: str, path: Path | None = None) -> ModuleType:
    """Import the task file ``path`` (``module`` under ``root``); user errors become SpecError.

    ``logging`` is loaded first, as the pod's entrypoint has it loaded before
    the task: a ``logging.py`` task file doing ``import logging`` gets Python's
    in the CLI as in the pod, and podtask's own logging is never that file.
    """
    import logging  # noqa: F401

    with _folder_first(str(root)):
        return _import_user_module(root, module, path)


def _import_user_module(root: Path, module: str, path: Path | None) -> ModuleType:
    target = path if path is not None else _find_on_path(module)
    shown = path if path is not None else module
    try:
        if target is None:
            with deferring_errors():
                return importlib.import_module(module)
        return _import_file(module, target)
    except SpecError:
        raise
    except SystemExit as exc:  # sys.exit() / raise SystemExit at module level
        raise SpecError(
            f"importing {shown} {_exit_status(exc)}",
            field="FILE",
            hint="a task file must not exit when imported: "
            "put that code under `if __name__ == '__main__':`",
        ) from exc
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise SpecError(f"cannot import {module} from {root}", field="FILE") from exc
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


def file_tasks(module: ModuleType) -> list[Task | BrokenTask]:
    """Tasks defined in ``module`` itself, broken ones included, in definition order."""
    found: list[Task | BrokenTask] = []
    for value in map(_as_task, vars(module).values()):
        if not isinstance(value, (Task, BrokenTask)) or value.module != module.__name__:
            continue
        if any(v is value for v in found):
            continue
        if isinstance(value, Task):
            try:
                value.check_complete()
            except SpecError as exc:
                found.append(BrokenTask(value.fn, exc))
                continue
        found.append(value)
    return found


def tasks_in(module: ModuleType) -> list[Task]:
    """Tasks defined in ``module`` itself; the first broken one raises its error."""
    found: list[Task] = []
    for value in file_tasks(module):
        if isinstance(value, BrokenTask):
            raise value.error
        found.append(value)
    return found


def load_file(path: str | Path) -> tuple[SourceRef, list[Task | BrokenTask]]:
    """Every task of the file at ``path``, broken ones included (for the CLI to choose from)."""
    ref = source_ref(path)
    module = import_module(ref.root, ref.module, ref.path)
    return ref, file_tasks(module)


def _refusal(path: str | Path, name: str) -> SpecError | None:
    """Why another SDK's object of that name is no task podtask runs (a flytekit @workflow,
    a pod template by name), or None: such objects are skipped until asked for by name."""
    try:
        ref = source_ref(path)
        module = import_module(ref.root, ref.module, ref.path)  # already loaded: no re-run
        _as_task(getattr(module, name, None), named=True)
    except SpecError as exc:
        return exc
    return None


def no_such_task(
    name: str, path: str | Path, tasks: list[Task | BrokenTask], *, field: str = "TASK"
) -> SpecError:
    refusal = _refusal(path, name)
    if refusal is not None:
        return refusal
    names = ", ".join(t.name for t in tasks) or "none"
    return SpecError(
        f"no task named {name!r} in {path}", field=field, hint=f"tasks in that file: {names}"
    )


def load_tasks(
    path: str | Path, name: str | None = None, *, field: str = "TASK"
) -> tuple[SourceRef, list[Task]]:
    """The task ``name`` of the file (or all of them); only a task asked for may be broken.

    ``field`` is what the caller calls the task name (``TASK``, ``--task``) in errors.
    """
    ref, tasks = load_file(path)
    if name is not None:
        chosen = next((t for t in tasks if t.name == name), None)
        if chosen is None:
            raise no_such_task(name, path, tasks, field=field)
        if isinstance(chosen, BrokenTask):
            raise chosen.error
        return ref, [chosen]
    if not tasks:
        raise SpecError(
            f"{path} defines no task",
            hint="decorate a function with @podtask.task or @sidecar_task",
        )
    for t in tasks:
        if isinstance(t, BrokenTask):
            raise t.error
    return ref, [t for t in tasks if isinstance(t, Task)]


def load_task(reference: str) -> Task:
    """Load ``MODULE:NAME`` (the entrypoint's ``--task``); the source root must be on sys.path."""
    module_name, sep, name = reference.partition(":")
    if not sep or not module_name or not name:
        raise SpecError(
            f"bad task reference {reference!r}", field="--task", hint="write MODULE:NAME"
        )
    path = _find_on_path(module_name)
    try:
        if path is None:
            with deferring_errors():
                module = importlib.import_module(module_name)
        else:
            module = _import_file(module_name, path)
    except ModuleNotFoundError as exc:
        raise SpecError(f"cannot import {module_name}: {exc}", field="--task") from exc
    value = _as_task(getattr(module, name, None))
    if isinstance(value, BrokenTask):
        raise value.error
    if not isinstance(value, Task):
        raise SpecError(f"{reference} is not a task", field="--task")
    value.check_complete()
    return value
