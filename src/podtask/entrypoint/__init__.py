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

from podtask._errors import SpecError

if TYPE_CHECKING:
    from podtask.entrypoint.remote import RemoteIO

CODE_URL_ENV = "PODTASK_CODE_URL"  # where the kubernetes engine puts the code bundle URL

EXIT_OK = 0
EXIT_TASK_ERROR = 1
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a container killed by SIGTERM reports


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m podtask.entrypoint")
    p.add_argument("--task", required=True, help="MODULE:NAME of the task")
    p.add_argument("--inputs", required=True, help="path of inputs.json")
    p.add_argument("--output-prefix", required=True, help="directory for outputs.json / error.json")
    p.add_argument(
        "--source-root",
        action="append",
        default=[],
        help="directory to put on sys.path (also $PODTASK_SOURCE_ROOT, ':'-separated)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["flyte"]:  # Flyte's data protocol (inputs.pb, outputs.pb, error.pb)
        from podtask.entrypoint.flyte import main as flyte_main

        return flyte_main(argv[1:])
    args = _parser().parse_args(argv)
    from podtask._authoring import load_task
    from podtask.entrypoint import apitransport
    from podtask.entrypoint.runner import run_task, write_error

    roots = [*args.source_root, *filter(None, os.environ.get("PODTASK_SOURCE_ROOT", "").split(":"))]
    for root in reversed(roots):
        if root not in sys.path:
            sys.path.insert(0, root)
    inputs, output_prefix = args.inputs, args.output_prefix
    code_url = os.environ.pop(CODE_URL_ENV, None)
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
        apitransport.load_code()  # kubernetes API transport: the shipped code, if any
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
            return 130
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
        apitransport.publish(output_prefix)  # kubernetes API transport: results, if asked
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
    if os.environ.get("PODTASK_SIDECAR_MODE") != "managed":
        return
    from podtask.entrypoint.managed import stop_sidecars

    try:
        grace = float(os.environ.get("PODTASK_SIDECAR_GRACE", "30"))
    except ValueError:
        grace = 30.0
    stop_sidecars(grace)
