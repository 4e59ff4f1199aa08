"""Run one task function inside the primary container: inputs in, outputs out.

Outputs are checked against the interface and written atomically to
``<output-prefix>/outputs.json`` (blobs copied under ``<output-prefix>/blobs``);
on any failure an error document goes to ``<output-prefix>/error.json`` and the
process exits 1, so the engine can always tell a result from a crash.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any, Literal

from podtask._authoring import LEGACY, Output, Task, Variable
from podtask._contract import (
    BLOBS_DIR,
    ENV_ATTEMPT,
    ENV_RUN_ID,
    ERROR_FILE,
    FLAG_INPUTS,
    OUTPUTS_FILE,
    ErrorDocument,
)
from podtask._errors import SpecError
from podtask._storage import read_json, write_json_atomic
from podtask._types import from_literal, to_literal
from podtask.entrypoint.params import WorkflowParams, make_logger


def read_inputs(task: Task, path: str) -> dict[str, Any]:
    """Read ``inputs.json`` and turn each literal into the value the function receives."""
    data = read_json(path) if path and path != "-" else {}
    if data is None:
        raise SpecError(f"inputs file {path} does not exist", field=FLAG_INPUTS)
    if not isinstance(data, dict):
        raise SpecError("inputs must be a JSON object", field=FLAG_INPUTS)
    values: dict[str, Any] = {}
    for var in task.interface.inputs:
        if var.name in data:
            values[var.name] = from_literal(data[var.name], var.type, name=var.name)
        elif var.has_default:
            values[var.name] = from_literal(var.default, var.type, name=var.name)
        else:
            raise SpecError(
                f"missing input {var.name!r}", field=var.name, hint=f"pass --{var.name} VALUE"
            )
    unknown = sorted(set(data) - {v.name for v in task.interface.inputs})
    if unknown:
        raise SpecError(f"unknown input {unknown[0]!r}", field=unknown[0])
    return values


def _returned(task: Task, result: Any) -> dict[str, Any]:
    outs = task.interface.outputs
    if not outs:
        if result is not None:
            raise SpecError(
                f"{task.name} declares no outputs but returned {result!r}", field="return"
            )
        return {}
    if len(outs) == 1 and not (isinstance(result, tuple) and hasattr(result, "_fields")):
        return {outs[0].name: result}
    if not isinstance(result, tuple) or len(result) != len(outs):
        raise SpecError(
            f"{task.name} must return {len(outs)} values, got {result!r}", field="return"
        )
    return {v.name: value for v, value in zip(outs, result, strict=True)}


def _store_blob(var: Variable, value: Any, prefix: Path) -> Any:
    """Copy a blob output (a file, or a directory's tree) next to outputs.json so it survives."""
    kind = var.type.kind
    if kind not in ("blob", "csv", "directory"):
        return value
    src = Path(value)
    what = "directory" if kind == "directory" else "file"
    if not (src.is_dir() if kind == "directory" else src.is_file()):
        raise SpecError(f"output {var.name} names {src}, which is not a {what}", field=var.name)
    dest = prefix / BLOBS_DIR / var.name / (src.name or what)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if kind == "directory":
        shutil.copytree(src, dest)
    else:
        shutil.copyfile(src, dest)
    return dest


def run_task(task: Task, inputs_path: str, output_prefix: str) -> dict[str, Any]:
    """Call the task and write its outputs; returns the output literals."""
    prefix = Path(output_prefix)
    prefix.mkdir(parents=True, exist_ok=True)
    values = read_inputs(task, inputs_path)
    if task.style == LEGACY:
        handles = {v.name: Output(v.name) for v in task.interface.outputs}
        scratch = Path(tempfile.mkdtemp(prefix="podtask-wd-"))
        params = WorkflowParams(
            execution_id=os.environ.get(ENV_RUN_ID, "local"),
            attempt=int(os.environ.get(ENV_ATTEMPT, "1")),
            working_directory=scratch,
            logger=make_logger(task.name),
            task_name=task.name,
        )
        try:
            task.fn(params, **values, **handles)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        unset = [n for n, h in handles.items() if not h.is_set]
        if unset:
            raise SpecError(
                f"output {unset[0]!r} was never set",
                field=unset[0],
                hint=f"call {unset[0]}.set(value)",
            )
        produced = {n: h.value for n, h in handles.items()}
    else:
        produced = _returned(task, task.fn(**values))
    literals = {}
    for var in task.interface.outputs:
        value = _store_blob(var, produced[var.name], prefix)
        literals[var.name] = to_literal(value, var.type, name=var.name)
    write_json_atomic(prefix / OUTPUTS_FILE, literals)
    return literals


def write_error(
    output_prefix: str, exc: BaseException, *, kind: Literal["user", "spec", "system"] = "user"
) -> None:
    """The error document: enough for ``podtask describe`` to say what went wrong."""
    doc: ErrorDocument = {
        "kind": kind,
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }
    prefix = Path(output_prefix)
    prefix.mkdir(parents=True, exist_ok=True)
    write_json_atomic(prefix / ERROR_FILE, doc)
