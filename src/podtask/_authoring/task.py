"""``Task``: what a decorator makes of a function, and its typed ``Interface``.

Both authoring styles (the seed's ``@inputs/@outputs/@sidecar_task`` and the
modern ``@podtask.task``) produce the same ``Task``, so compile, run and the
entrypoint never need to know which one the user wrote.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from podtask._authoring.options import (
    SIDECAR_FAILURE_POLICIES,
    SIDECAR_MODES,
    Pod,
    Quantity,
)
from podtask._errors import SpecError
from podtask._types import LiteralType

LEGACY = "legacy"
MODERN = "modern"

# Set by podtask._flow while a workflow function runs: calls of tasks go to it
# (recording a graph node, or running the task in-process) instead of the function.
CALL_HOOK: ContextVar[Callable[..., Any] | None] = ContextVar("podtask_call_hook", default=None)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


@dataclass(frozen=True)
class Variable:
    name: str
    type: LiteralType
    has_default: bool = False
    default: Any = None  # a JSON literal when has_default

    def to_json(self) -> dict[str, Any]:
        """The variable in a template: its type, and its default when it has one."""
        d: dict[str, Any] = {"type": self.type.to_json()}
        if self.has_default:
            d["default"] = self.default
        return d


@dataclass(frozen=True)
class Interface:
    """Ordered inputs and outputs; order is the function's parameter order."""

    inputs: tuple[Variable, ...] = ()
    outputs: tuple[Variable, ...] = ()

    def input(self, name: str) -> Variable | None:
        return next((v for v in self.inputs if v.name == name), None)

    def output(self, name: str) -> Variable | None:
        return next((v for v in self.outputs if v.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": {v.name: v.to_json() for v in self.inputs},
            "outputs": {v.name: v.to_json() for v in self.outputs},
        }


@dataclass(frozen=True, eq=False)
class Task:
    """A task: the function, its interface, and every option that shapes its pod.

    Calling a ``Task`` calls the function as plain Python, so tasks stay unit-testable.
    ``resources`` maps the option names the user wrote (``cpu_request`` or
    ``cpu``) to quantities; compile maps them to Kubernetes names and reports
    errors under the user's own option names.
    """

    fn: Callable[..., Any]
    style: str
    interface: Interface = field(default_factory=Interface)
    pod: Pod | None = None
    image: str | None = None
    resources: Mapping[str, Quantity] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    retries: int = 0
    timeout: float | None = None  # seconds
    interruptible: bool = False
    deprecated: str = ""
    cache: bool = False
    cache_version: str = ""

    def __post_init__(self) -> None:
        # Look like the function to help(), debuggers and doc tools (frozen: bypass setattr).
        for attr in ("__doc__", "__name__", "__qualname__"):
            object.__setattr__(self, attr, getattr(self.fn, attr, None))
        object.__setattr__(self, "__wrapped__", self.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hook = CALL_HOOK.get()
        if hook is not None:
            return hook(self, args, kwargs)
        return self.fn(*args, **kwargs)

    @property
    def name(self) -> str:
        return str(self.fn.__name__)

    @property
    def module(self) -> str:
        return str(self.fn.__module__)

    @property
    def task_type(self) -> str:
        return "sidecar" if self.pod is not None else "python-task"

    def with_interface(self, interface: Interface) -> Task:
        return replace(self, interface=interface)

    def parameters(self) -> list[str]:
        """The function's parameters, minus the leading ``wf_params`` of the legacy style."""
        names = list(inspect.signature(self.fn).parameters)
        return names[1:] if self.style == LEGACY else names

    def check_complete(self) -> None:
        """Every parameter must be declared; called once decorators have all been applied."""
        if self.style != LEGACY:
            return
        declared = {v.name for v in self.interface.inputs} | {
            v.name for v in self.interface.outputs
        }
        missing = [p for p in self.parameters() if p not in declared]
        if missing:
            raise SpecError(
                f"parameter {missing[0]!r} of {self.name} is in neither @inputs nor @outputs",
                field=f"{self.name}.{missing[0]}",
                hint=f"add {missing[0]}=Types.<type> to @inputs or @outputs",
            )


def check_options(
    *,
    where: str,
    retries: Any,
    timeout: Any,
    env: Any,
    image: Any,
    pod: Pod | None,
) -> tuple[int, float | None, dict[str, str]]:
    """Validate the options both decorator styles share; returns normalized values."""
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise SpecError(
            f"retries must be a whole number >= 0, got {retries!r}", field=f"{where}.retries"
        )
    seconds: float | None
    if timeout is None:
        seconds = None
    elif isinstance(timeout, _dt.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise SpecError(
            f"timeout must be seconds or a datetime.timedelta, got {timeout!r}",
            field=f"{where}.timeout",
        )
    if seconds is not None and seconds <= 0:
        raise SpecError("timeout must be positive", field=f"{where}.timeout")
    if env is None:
        env = {}
    if not isinstance(env, Mapping):
        raise SpecError("environment must be a dict of str to str", field=f"{where}.environment")
    clean: dict[str, str] = {}
    for k, v in env.items():
        if not isinstance(k, str) or not _ENV_NAME.match(k):
            raise SpecError(
                f"invalid environment variable name {k!r}",
                field=f"{where}.environment.{k}",
                hint="use letters, digits, '_', '-' or '.', not starting with a digit",
            )
        if not isinstance(v, (str, int, float, bool)):
            raise SpecError(f"value of {k} must be a string", field=f"{where}.environment.{k}")
        clean[k] = str(v)
    if image is not None and (not isinstance(image, str) or not image.strip()):
        raise SpecError("image must be a non-empty string", field=f"{where}.image")
    if pod is not None:
        if pod.sidecar_failure not in SIDECAR_FAILURE_POLICIES:
            raise SpecError(
                f"sidecar_failure must be one of {', '.join(SIDECAR_FAILURE_POLICIES)}",
                field=f"{where}.sidecar_failure",
            )
        if pod.sidecar_mode is not None and pod.sidecar_mode not in SIDECAR_MODES:
            raise SpecError(
                f"sidecar_mode must be one of {', '.join(SIDECAR_MODES)}",
                field=f"{where}.sidecar_mode",
            )
        for what, mapping in (("labels", pod.labels), ("annotations", pod.annotations)):
            if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise SpecError(f"{what} must be a dict of str to str", field=f"{where}.{what}")
    return retries, seconds, clean


def check_identifier(name: str, *, field: str) -> None:
    if not _IDENT.match(name):
        raise SpecError(f"{name!r} is not a valid Python identifier", field=field)
