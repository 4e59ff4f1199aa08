"""The in-container entrypoint.

``python -m podtask.entrypoint --task M:N --inputs F --output-prefix D``

``main`` is also called in-process by the local engine's warm fork of the
primary, so it takes argv and returns an exit code instead of exiting.
"""

from __future__ import annotations

import argparse
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


def _parser() -> argparse.ArgumentParser:
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
    args = _parser().parse_args(argv)
    from podtask._authoring import load_task
    from podtask.entrypoint.runner import run_task, write_error

    roots = [*args.source_root, *filter(None, os.environ.get(ENV_SOURCE_ROOT, "").split(":"))]
    for root in reversed(roots):
        if root not in sys.path:
            sys.path.insert(0, root)
    inputs, output_prefix = args.inputs, args.output_prefix
    code_url = os.environ.pop(ENV_CODE_URL, None)
    io: RemoteIO | None = None
    if code_url or "://" in inputs or "://" in output_prefix:
        # Remote storage (s3://, gs://, ...): fetch inputs and the code bundle to local files.
        # Imported only here: local runs should not pay for it.
        from podtask.entrypoint.remote import RemoteIO

        try:
            io = RemoteIO.open(inputs, output_prefix, code_url)
        except Exception as exc:
            print(f"podtask: cannot fetch inputs or code: {exc}", file=sys.stderr)
            _stop_sidecars_if_managed()
            return EXIT_TASK_ERROR
        inputs, output_prefix = io.inputs, io.output_prefix
    _exit_on_sigterm()
    try:
        task = load_task(args.task)
        run_task(task, inputs, output_prefix)
    except SpecError as exc:
        # The task broke its own contract (bad output, missing input): still the user's side.
        print(f"podtask: {exc}", file=sys.stderr)
        write_error(output_prefix, exc, kind="spec")
        return EXIT_TASK_ERROR
    except BaseException as exc:
        traceback.print_exc()
        write_error(output_prefix, exc)
        if isinstance(exc, KeyboardInterrupt):
            return EXIT_INTERRUPTED
        if isinstance(exc, Terminated):
            return EXIT_TERMINATED
        return EXIT_TASK_ERROR
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if io is not None:
            # Upload results before the sidecars go: a network sidecar may be needed for it
            # (argo-workflows#1282: outputs lost because the sidecar was killed first).
            try:
                io.publish()
            except Exception as exc:
                print(f"podtask: cannot upload outputs: {exc}", file=sys.stderr)
            io.close()
        _stop_sidecars_if_managed()
    return EXIT_OK


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
