"""Shared CLI plumbing: one mapping from podtask's error tree to exit codes.

``SpecError`` and ``EngineUnavailable`` -> 2 (fix the input or the machine and
retry; nothing was started), ``TaskFailed`` and other ``InfrastructureError``
-> 1, Ctrl-C -> 130.  No traceback is shown for errors podtask raised on purpose.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from podtask._errors import (
    EngineUnavailable,
    InfrastructureError,
    SpecError,
    StorageFull,
    TaskFailed,
)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def err(message: str) -> None:
    click.echo(message, err=True)


def handle_errors(fn: F) -> F:
    """Turn podtask's errors into a one-line message and the documented exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StorageFull as exc:  # before SpecError/OSError: one line, 2 if nothing started
            err(f"error: {exc}")
            sys.exit(EXIT_USAGE if exc.nothing_started else EXIT_FAILED)
        except (SpecError, EngineUnavailable) as exc:
            err(f"error: {exc}")
            sys.exit(EXIT_USAGE)
        except TaskFailed as exc:
            err(f"task failed: {exc}")
            sys.exit(EXIT_FAILED)
        except InfrastructureError as exc:
            err(f"infrastructure error: {exc}")
            sys.exit(EXIT_FAILED)
        except KeyboardInterrupt:
            err("interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except OSError as exc:
            from podtask._storage.space import full_disk_hint, is_full

            if not is_full(exc):
                raise
            err(f"error: {exc.strerror}: {exc.filename} ({full_disk_hint(exc.filename)})")
            sys.exit(EXIT_FAILED)

    return wrapper  # type: ignore[return-value]


def finish_run(result: Any, *, as_json: bool) -> NoReturn:
    """Print how a run ended (one JSON object, or a summary and the outputs) and exit."""
    import json

    if as_json:
        click.echo(json.dumps(result.to_json(), sort_keys=True))
    else:
        summary = f"{result.phase} ({result.reason})"
        if result.message and not result.succeeded:
            summary += f": {result.message}"
        err(f"{result.run_id}: {summary} in {result.attempts} attempt(s)")
        for name, value in (result.outputs or {}).items():
            click.echo(f"{name} = {json.dumps(value)}")
    if result.phase == "ABORTED":
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_OK if result.succeeded else EXIT_FAILED)
