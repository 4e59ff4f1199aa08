"""The entrypoint's Flyte mode: Flyte's data protocol around the ordinary runner.

``python -m podtask.entrypoint flyte --task M:N --inputs {{.input}}
--output-prefix {{.outputPrefix}} --raw-output-data-prefix {{.rawOutputDataPrefix}}
[--checkpoint-path P --prev-checkpoint P]`` (the command line
``podtask export flyte`` writes, see ``podtask.interop.flyte.contract``).

It reads ``inputs.pb`` (a ``LiteralMap``, path or fsspec URL), converts it by
the task's interface into the runner's JSON inputs in a scratch directory,
runs the task exactly as ``podtask run`` does (both authoring styles), and
converts the runner's outputs into ``outputs.pb`` at the output prefix, with
blobs under the raw output prefix.  On failure it writes ``error.pb``, a
flyteidl ``ErrorDocument``: origin USER when the task's code (or its contract:
a missing output, a wrong type) failed, SYSTEM, recoverable, when the inputs
could not be read or the outputs not written, so Flyte retries only what a
retry can fix.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from podtask.interop.flyte._idl import prefer_pure_python_protobuf

USER = "USER"
SYSTEM = "SYSTEM"
TRACEBACK_LINES = 20  # the last lines of the traceback go into the error message


class _SystemFailure(Exception):
    """Reading inputs or writing outputs failed: infrastructure, not the task."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m podtask.entrypoint flyte")
    p.add_argument("--task", required=True, help="MODULE:NAME of the task")
    p.add_argument("--inputs", required=True, help="inputs.pb (path or URL)")
    p.add_argument("--output-prefix", required=True, help="where outputs.pb / error.pb go")
    p.add_argument("--raw-output-data-prefix", default="", help="where blobs go")
    p.add_argument(
        "--checkpoint-path", default="", help="accepted; podtask tasks do not checkpoint"
    )
    p.add_argument("--prev-checkpoint", default="", help="accepted; see --checkpoint-path")
    p.add_argument("--source-root", action="append", default=[], help="put on sys.path")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    # The task module may build a seed (k8s-proto) pod spec next to flyteidl.
    prefer_pure_python_protobuf()
    from podtask._contract import EXIT_OK, EXIT_TASK_ERROR, EXIT_TERMINATED
    from podtask.entrypoint import (
        Terminated,
        _exit_on_sigterm,
        _stop_sidecars_if_managed,
    )

    for root in reversed(args.source_root):
        if root not in sys.path:
            sys.path.insert(0, root)
    _exit_on_sigterm()
    scratch = Path(tempfile.mkdtemp(prefix="podtask-flyte-"))
    code = EXIT_OK
    try:
        _run(args, scratch)
    except _SystemFailure as exc:
        cause = exc.__cause__ or exc
        traceback.print_exception(cause)
        code = _fail(args.output_prefix, cause, SYSTEM, EXIT_TASK_ERROR)
    except BaseException as exc:
        traceback.print_exc()
        exit_code = EXIT_TASK_ERROR
        if isinstance(exc, KeyboardInterrupt):
            exit_code = 130
        elif isinstance(exc, Terminated):
            exit_code = EXIT_TERMINATED
        code = _fail(args.output_prefix, exc, USER, exit_code)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        shutil.rmtree(scratch, ignore_errors=True)
        _stop_sidecars_if_managed()
    return code


def _run(args: argparse.Namespace, scratch: Path) -> None:
    from podtask._authoring import load_task
    from podtask._contract import OUTPUTS_FILE
    from podtask._storage import read_json, write_json_atomic
    from podtask.entrypoint.runner import run_task
    from podtask.interop.flyte import contract, storage
    from podtask.interop.flyte._idl import idl
    from podtask.interop.flyte.literals import inputs_to_json, outputs_to_literal_map

    task = load_task(args.task)
    literal_map = idl("core.literals_pb2").LiteralMap()
    try:
        literal_map.ParseFromString(storage.read_bytes(args.inputs))
    except Exception as exc:
        raise _SystemFailure(f"cannot read inputs {args.inputs}") from exc
    json_inputs = inputs_to_json(literal_map, task.interface.inputs, blob_dir=scratch / "in")
    write_json_atomic(scratch / "inputs.json", json_inputs)
    run_task(task, str(scratch / "inputs.json"), str(scratch / "out"))
    values: Any = read_json(scratch / "out" / OUTPUTS_FILE)
    raw = args.raw_output_data_prefix or storage.join(args.output_prefix, "raw")
    try:
        outputs = outputs_to_literal_map(values, task.interface.outputs, raw_output_prefix=raw)
        data = outputs.SerializeToString(deterministic=True)
        storage.write_bytes(storage.join(args.output_prefix, contract.OUTPUTS_FILE), data)
    except Exception as exc:
        raise _SystemFailure(f"cannot write outputs to {args.output_prefix}") from exc


def _fail(output_prefix: str, exc: BaseException, origin: str, exit_code: int) -> int:
    """Write ``error.pb``; if even that fails, say so on stderr (the exit code still tells)."""
    from podtask.interop.flyte import contract, storage
    from podtask.interop.flyte._idl import idl

    errors_pb2 = idl("core.errors_pb2")
    execution_pb2 = idl("core.execution_pb2")
    lines = "".join(traceback.format_exception(exc)).splitlines()[-TRACEBACK_LINES:]
    error = errors_pb2.ContainerError(
        code=f"{origin}:{type(exc).__name__}",
        message="\n".join([f"{type(exc).__name__}: {exc}", "", *lines]),
        kind=errors_pb2.ContainerError.RECOVERABLE
        if origin == SYSTEM
        else errors_pb2.ContainerError.NON_RECOVERABLE,
        origin=execution_pb2.ExecutionError.ErrorKind.Value(origin),
    )
    doc = errors_pb2.ErrorDocument(error=error)
    try:
        storage.write_bytes(
            storage.join(output_prefix, contract.ERROR_FILE), doc.SerializeToString()
        )
    except Exception as write_exc:
        print(f"podtask: cannot write error.pb to {output_prefix}: {write_exc}", file=sys.stderr)
    return exit_code
