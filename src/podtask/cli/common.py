"""Shared CLI plumbing: one mapping from podtask's error tree to exit codes.

``SpecError`` and ``EngineUnavailable`` -> 2 (fix the input or the machine and
retry; nothing was started), ``TaskFailed`` and other ``InfrastructureError``
-> 1, Ctrl-C -> 130.  No traceback is shown for errors podtask raised on purpose.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub; the C half of `signal`
import os
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


def complete_run_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    """Shell completion of a RUN_ID argument (the code loads only when completing)."""
    from podtask.cli.completion_cmd import complete_run_id as complete

    return complete(ctx, param, incomplete)


def err(message: str) -> None:
    click.echo(message, err=True)


def print_json_error(kind: str, message: str, *, field: str | None, hint: str | None) -> None:
    """The ``--json`` form of an error: one object on stdout, so scripts read every outcome."""
    import json

    error = {"type": kind, "message": message, "field": field, "hint": hint}
    click.echo(json.dumps({"error": error}, sort_keys=True))


def _report(exc: Exception, prefix: str, *, as_json: bool) -> None:
    if as_json:
        if isinstance(exc, SpecError):
            print_json_error(type(exc).__name__, exc.reason, field=exc.field, hint=exc.hint)
        else:
            print_json_error(type(exc).__name__, str(exc), field=None, hint=None)
    err(f"{prefix}{exc}")


class _ExitState:
    """What the last moments of the process need to know (one per process: it is the CLI's)."""

    interrupted = False  # a Ctrl-C (or SIGTERM to ``run``) came while a command ran
    leaving = False  # the command is over: a Ctrl-C now is only remembered
    code: int | None = None  # the exit code the command chose
    guarded = False  # last_word is registered


def note_interrupt() -> None:
    """Remember that the user interrupted: the process exits 130 whatever else happens."""
    _ExitState.interrupted = True


def was_interrupted() -> bool:
    """A Ctrl-C came since the command started, even one whose KeyboardInterrupt got lost."""
    return _ExitState.interrupted


def on_interrupt(_signum: int, _frame: object) -> None:
    """SIGINT while a command works: remember it and unwind (KeyboardInterrupt).

    Once the command is over (``leaving``) it is only remembered: the exit
    code becomes 130 in ``last_word`` without a traceback from half-finished
    interpreter shutdown.
    """
    note_interrupt()
    if not _ExitState.leaving:
        raise KeyboardInterrupt


def leaving(code: object) -> None:
    """The command ended with ``sys.exit(code)``; from now on only ``last_word`` decides."""
    _ExitState.leaving = True
    if code is None or isinstance(code, int):
        _ExitState.code = code or 0


def _guard_exit() -> None:
    """Once per process, as the first command starts: ``last_word`` at exit.

    Only in the CLI's own process (``sys.argv[0]`` is the ``podtask`` script or
    ``python -m podtask``), never in a program or test that calls a command.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    ours = os.path.basename(sys.argv[0]) == "podtask" or (
        spec is not None and spec.name == "podtask.__main__"
    )
    if ours and not _ExitState.guarded:
        import atexit

        _ExitState.guarded = True
        atexit.register(last_word)  # before anything the command registers: it runs last


def last_word() -> None:
    """The last ``atexit`` callback of the process: leave with the documented code.

    Python restores SIGINT's default action while it shuts down, so a Ctrl-C
    landing in the last milliseconds killed the process (exit -2, or a
    "KeyboardInterrupt" flag that makes Python kill itself) instead of giving
    130.  Here SIGINT is blocked, one that came at any moment is turned into
    130, and the process ends at once with the code the command chose.
    """
    _leave(force=False)


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` (130 if the user interrupted): the CLI's one way out.

    For ``main`` once the command is done and the ``atexit`` handlers ran;
    the same ending as :func:`last_word`, which ends the process first when
    it is registered.
    """
    leaving(code)
    _leave(force=True)
    raise AssertionError("unreachable: _leave(force=True) ends the process")


def _leave(*, force: bool) -> None:
    _ExitState.leaving = True
    _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT})
    interrupted = _ExitState.interrupted or _signal.SIGINT in _signal.sigpending()
    if not (force or interrupted or _ExitState.code is not None):
        return  # an uncaught error: Python reports it and exits 1, as it would anyway
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            silence_stdout()  # `podtask runs | head`: the reader left; say nothing more
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(EXIT_INTERRUPTED if interrupted else (_ExitState.code or 0) & 0xFF)


def silence_stdout() -> None:
    """Point stdout at /dev/null so no later flush can fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no fileno (a replaced stdout): ValueError
        os.close(devnull)
    except (OSError, ValueError):
        pass  # the process ends right after; only its last flush could complain


def handle_errors(fn: F) -> F:
    """Turn podtask's errors into a one-line message and the documented exit code.

    A command with a ``--json`` flag (parameter ``as_json``) also gets the
    error as one JSON object on stdout.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # From here on work may need undoing: Ctrl-C unwinds as KeyboardInterrupt.
        # (The C module: importing `signal` costs a millisecond of enum building.)
        _signal.signal(_signal.SIGINT, on_interrupt)
        _guard_exit()
        try:
            result = _reporting(fn, args, kwargs)
        except SystemExit as exc:
            leaving(exc.code)
            raise
        leaving(result if isinstance(result, int) else 0)
        return result

    return wrapper  # type: ignore[return-value]


def _reporting(fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    """``fn(*args, **kwargs)``, its errors reported with their exit codes (``handle_errors``)."""
    as_json = bool(kwargs.get("as_json"))
    try:
        return fn(*args, **kwargs)
    except StorageFull as exc:  # before SpecError/OSError: one line, 2 if nothing started
        _report(exc, "error: ", as_json=as_json)
        sys.exit(EXIT_USAGE if exc.nothing_started else EXIT_FAILED)
    except (SpecError, EngineUnavailable) as exc:
        _report(exc, "error: ", as_json=as_json)
        sys.exit(EXIT_USAGE)
    except TaskFailed as exc:
        _report(exc, "task failed: ", as_json=as_json)
        sys.exit(EXIT_FAILED)
    except InfrastructureError as exc:
        _report(exc, "infrastructure error: ", as_json=as_json)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        note_interrupt()
        err("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:
        from podtask._storage.space import full_disk_hint, is_full

        if not is_full(exc):
            raise
        err(f"error: {exc.strerror}: {exc.filename} ({full_disk_hint(exc.filename)})")
        sys.exit(EXIT_FAILED)
    except Exception as exc:
        if not caused_by_interrupt(exc):
            raise
        err("interrupted")
        sys.exit(EXIT_INTERRUPTED)


def caused_by_interrupt(exc: BaseException) -> bool:
    """True when ``exc`` is a Ctrl-C in disguise.

    A KeyboardInterrupt raised while Python builds a class (a dataclass's
    ``__set_name__``, say, during a lazy import) reaches us wrapped in a
    RuntimeError; it is still the user's Ctrl-C and still exit 130.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def finish_run(result: Any, *, as_json: bool) -> NoReturn:
    """Print how a run ended (one JSON object, or a summary and the outputs) and exit."""
    import json

    if as_json:
        click.echo(json.dumps(result.to_json(), sort_keys=True))
    else:
        summary = f"{result.phase} ({result.reason})"
        if result.message and (result.interrupted or not result.succeeded):
            summary += f": {result.message}"
        err(f"{result.run_id}: {summary} in {result.attempts} attempt(s)")
        outputs = result.outputs or {}
        for name, value in outputs.items():
            click.echo(f"{name} = {json.dumps(value)}")
        if list(outputs) == ["o0"]:
            err("(o0 is the task's return value; a NamedTuple return type names its outputs)")
    if result.interrupted or result.phase == "ABORTED":
        sys.exit(EXIT_INTERRUPTED)  # the user's Ctrl-C, even if the primary had ended
    sys.exit(EXIT_OK if result.succeeded else EXIT_FAILED)
