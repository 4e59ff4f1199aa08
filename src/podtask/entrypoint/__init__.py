"""The in-container entrypoint.

``python -m podtask.entrypoint --task M:N --inputs F --output-prefix D``

``main`` is also called in-process by the local engine's warm fork of the
primary, so it takes argv and returns an exit code instead of exiting.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import traceback
from typing import TYPE_CHECKING

from podtask._contract import (
    DEFAULT_GRACE,
    ENV_CODE_URL,
    ENV_SIDECAR_GRACE,
    ENV_SIDECAR_MODE,
    ENV_SOURCE_ROOT,
    ERROR_FILE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TASK_ERROR,
    EXIT_TERMINATED,
    FLAG_INPUTS,
    FLAG_OUTPUT_PREFIX,
    FLAG_SOURCE_ROOT,
    FLAG_TASK,
    INPUTS_FILE,
    OUTPUTS_FILE,
)
from podtask._errors import SpecError

if TYPE_CHECKING:
    from podtask.entrypoint.remote import RemoteIO


@functools.lru_cache(maxsize=1)
def _parser() -> argparse.ArgumentParser:
    """The entrypoint's arguments; built once (``preload`` builds it before the fork)."""
    p = argparse.ArgumentParser(prog="python -m podtask.entrypoint")
    p.add_argument(FLAG_TASK, required=True, help="MODULE:NAME of the task")
    p.add_argument(FLAG_INPUTS, required=True, help=f"path or URL of {INPUTS_FILE}")
    p.add_argument(
        FLAG_OUTPUT_PREFIX,
        required=True,
        help=f"directory or URL for {OUTPUTS_FILE} / {ERROR_FILE}",
    )
    p.add_argument(
        FLAG_SOURCE_ROOT,
        action="append",
        default=[],
        help=f"directory to put on sys.path (also ${ENV_SOURCE_ROOT}, ':'-separated)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Fetch, run, then, on every path: write outputs, publish them, stop managed sidecars.

    Remote inputs, outputs and code are a storage layer around the same run:
    the order of the ``finally`` is the contract (argo-workflows#1282: a
    sidecar the upload needs, a proxy or a credentials agent, must outlive
    it), and it holds for a failed fetch and for SIGTERM too.
    """
    from podtask.entrypoint import apitransport  # _finish needs it on every path

    apitransport.mark_started()  # preloaded long before the fork: its clock starts now
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["flyte"]:  # Flyte's data protocol (inputs.pb, outputs.pb, error.pb)
        from podtask.entrypoint.flyte import main as flyte_main

        return flyte_main(argv[1:])
    args = _parser().parse_args(argv)
    from podtask.entrypoint.runner import write_error

    roots = [*args.source_root, *filter(None, os.environ.get(ENV_SOURCE_ROOT, "").split(":"))]
    for root in reversed(roots):
        if root not in sys.path:
            sys.path.insert(0, root)
    _exit_on_sigterm()  # from here a SIGTERM also ends in the finally below
    io: RemoteIO | None = None
    output_prefix = args.output_prefix
    try:
        io = _storage(args.inputs, args.output_prefix)
        if io is not None:
            output_prefix = io.output_prefix
            io.fetch()
        return _run(args.task, io.inputs if io is not None else args.inputs, output_prefix)
    except BaseException as exc:  # the fetch failed, or a signal came before the task ran
        print(f"podtask: {exc}", file=sys.stderr)
        if "://" not in output_prefix:  # published by _finish when the storage is remote
            write_error(output_prefix, exc, kind="system")
        return _exit_code(exc)
    finally:
        _finish(io, output_prefix)


def preload() -> None:
    """Import what :func:`main` imports for a local task run, ahead of time.

    The local engine forks the primary from a process that called this, so
    the entrypoint starts with its modules loaded (see the local sandbox).
    """
    from podtask._authoring import load_task  # noqa: F401
    from podtask.entrypoint import apitransport, runner  # noqa: F401

    _parser()  # its first build costs 1-2 ms (argparse's own set-up)


def _storage(inputs: str, output_prefix: str) -> RemoteIO | None:
    """Local stand-ins for remote inputs/outputs/code (nothing fetched yet), or None."""
    code_url = os.environ.pop(ENV_CODE_URL, None)
    if not (code_url or "://" in inputs or "://" in output_prefix):
        return None
    from podtask.entrypoint.remote import RemoteIO  # only remote runs pay for it

    return RemoteIO.prepare(inputs, output_prefix, code_url)


def _run(task_ref: str, inputs: str, output_prefix: str) -> int:
    from podtask._authoring import load_task
    from podtask.entrypoint import apitransport
    from podtask.entrypoint.runner import run_task, write_error

    try:
        apitransport.load_code()  # kubernetes API transport: the shipped code, if any
        run_task(load_task(task_ref), inputs, output_prefix)
    except SpecError as exc:
        # The task broke its own contract (bad output, missing input): still the user's side.
        print(f"podtask: {exc}", file=sys.stderr)
        write_error(output_prefix, exc, kind="spec")
        return EXIT_TASK_ERROR
    except Terminated as exc:
        # Not the task's error: podtask (a timeout, Ctrl-C) or the pod's deletion stopped it.
        print(f"podtask: the task was {exc}{_where(exc)}", file=sys.stderr)
        write_error(output_prefix, exc)
        return _exit_code(exc)
    except BaseException as exc:
        traceback.print_exc()
        write_error(output_prefix, exc)
        return _exit_code(exc)
    return EXIT_OK


def _where(exc: BaseException) -> str:
    """`` at FILE:LINE in FUNC``: the task's own line the stop interrupted (not podtask's)."""
    ours = os.path.dirname(__file__)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(ours)]
    if not frames:
        return ""
    last = frames[-1]
    return f" at {last.filename}:{last.lineno} in {last.name}"


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED
    return EXIT_TASK_ERROR


def _finish(io: RemoteIO | None, output_prefix: str) -> None:
    """Publish the results, then stop managed sidecars; a second SIGTERM cannot cut it short."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.flush()
    sys.stderr.flush()
    if io is not None:
        try:
            io.publish()
        except Exception as exc:
            print(f"podtask: cannot upload outputs to {io.remote_prefix}: {exc}", file=sys.stderr)
        io.close()
    from podtask.entrypoint import apitransport

    apitransport.publish(output_prefix)  # kubernetes API transport: results, if asked
    _stop_sidecars_if_managed()


class Terminated(BaseException):
    """The primary was asked to stop (SIGTERM): timeout, abort or pod deletion."""


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into an exception, so the error document says why and exit is prompt.

    In a container the entrypoint is PID 1, and PID 1 ignores SIGTERM unless it
    handles it: without this, a stopped primary would wait out the whole grace
    period and die by SIGKILL.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: object) -> None:
        raise Terminated(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, handler)


def _stop_sidecars_if_managed() -> None:
    """In managed sidecar mode the primary ends the pod's sidecars (outputs are written by now)."""
    if os.environ.get(ENV_SIDECAR_MODE) != "managed":
        return
    from podtask.entrypoint.managed import stop_sidecars

    try:
        grace = float(os.environ.get(ENV_SIDECAR_GRACE, DEFAULT_GRACE))
    except ValueError:
        grace = DEFAULT_GRACE
    stop_sidecars(grace)
