"""Tasks whose definition is wrong, kept aside while the CLI loads a file.

A decorator raises ``SpecError`` at import time when a task is ill-defined
(an ``Optional[int]`` input, say). Raised plainly, that one error would make
every other task of the same file unusable from the CLI. While a file is
loaded for the CLI or the entrypoint (``deferring_errors``), a decorator
returns a ``BrokenTask`` instead, and the error is raised only when that task
is the one asked for. Plain ``import`` of the file still raises at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from podtask._errors import SpecError

_depth = 0  # > 0 while some loader defers decorator errors


class BrokenTask:
    """Stands where a task failed to be defined; using it raises the original error."""

    def __init__(self, fn: Callable[..., Any], error: SpecError) -> None:
        self.fn = fn
        self.error = error
        self.__name__ = getattr(fn, "__name__", "?")

    @property
    def name(self) -> str:
        return str(getattr(self.fn, "__name__", "?"))

    @property
    def module(self) -> str:
        return str(getattr(self.fn, "__module__", ""))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@contextlib.contextmanager
def deferring_errors() -> Iterator[None]:
    """Within this block, task decorators record definition errors instead of raising."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def broken_or_raise(fn: Any, error: SpecError) -> BrokenTask:
    """Return a ``BrokenTask`` for ``fn`` while deferring, else raise ``error``."""
    if _depth <= 0 or not callable(fn):
        raise error
    if isinstance(fn, BrokenTask):
        return fn
    return BrokenTask(fn, error)
