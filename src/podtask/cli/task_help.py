"""``podtask run FILE TASK --help``: a task's inputs and outputs, as ``pyflyte run`` shows them.

Descriptions come from the function's docstring: Google style (``Args:`` /
``Returns:`` sections with ``name: text`` or ``name (type): text`` lines) and
Sphinx style (``:param name: text``) are both read, as most Python code uses
one of them. A name without a description is still listed, with its type.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable

import click

from podtask._authoring import Task, Variable

_SPHINX = re.compile(r"^:param\s+(?:[^:]*\s)?(?P<name>\w+)\s*:\s*(?P<text>.*)$")
_GOOGLE = re.compile(r"^(?P<name>\w+)\s*(?:\([^)]*\))?\s*:\s*(?P<text>.+)$")
_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Outputs?|Inputs?):\s*$")

#: How a value of each type is written on the command line.
_METAVAR = {
    "string": "TEXT",
    "integer": "INTEGER",
    "float": "FLOAT",
    "boolean": "true|false",
    "datetime": "ISO-8601",
    "timedelta": "DURATION",
    "blob": "PATH",
    "csv": "PATH",
    "directory": "DIR",
    "generic": "JSON",
    "list": "JSON",
}


def docstring_parts(fn: object, names: Iterable[str]) -> tuple[str, dict[str, str]]:
    """The docstring's summary paragraph, and a description for each of ``names`` it mentions."""
    doc = inspect.getdoc(fn) or ""
    wanted = set(names)
    summary: list[str] = []
    described: dict[str, str] = {}
    in_summary = True
    last: str | None = None
    for raw in doc.splitlines():
        line = raw.strip()
        if in_summary:
            if not line or _SECTION.match(line) or line.startswith(":"):
                in_summary = False
            else:
                summary.append(line)
                continue
        match = _SPHINX.match(line) or _GOOGLE.match(line)
        if match and match["name"] in wanted:
            last = match["name"]
            described[last] = match["text"].strip()
        elif line and last is not None and raw.startswith((" " * 8, "\t\t")):
            described[last] += " " + line  # a continuation line, indented under its name
        else:
            last = None
    return " ".join(summary), described


def _input_row(v: Variable, described: dict[str, str]) -> tuple[str, str]:
    flag = f"--{v.name} {_METAVAR.get(v.type.kind, 'VALUE')}"
    facts = [str(v.type)]
    facts.append(f"default: {json.dumps(v.default)}" if v.has_default else "required")
    text = f"[{', '.join(facts)}]"
    if v.name in described:
        text = f"{described[v.name]}  {text}"
    return flag, text


def task_help(task: Task, file: str) -> str:
    """The help page of one task."""
    names = [v.name for v in (*task.interface.inputs, *task.interface.outputs)]
    summary, described = docstring_parts(task.fn, names)
    formatter = click.HelpFormatter()
    usage = " ".join(
        f"--{v.name} {_METAVAR.get(v.type.kind, 'VALUE')}"
        if not v.has_default
        else f"[--{v.name} {_METAVAR.get(v.type.kind, 'VALUE')}]"
        for v in task.interface.inputs
    )
    # One line, unwrapped: it is the command to copy, and a long path must stay whole.
    formatter.write(
        f"Usage: podtask run {file} {task.name} {usage} [RUN OPTIONS]\n".replace("  ", " ")
    )
    if summary:
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(summary)
    with formatter.section("Inputs"):
        if task.interface.inputs:
            formatter.write_dl([_input_row(v, described) for v in task.interface.inputs])
        else:
            formatter.write_text("none")
    with formatter.section("Outputs"):
        rows = []
        for v in task.interface.outputs:
            text = f"[{v.type}]"
            if v.name in described:
                text = f"{described[v.name]}  {text}"
            elif v.name == "o0" and len(task.interface.outputs) == 1:
                text = f"the task's return value  {text}"
            rows.append((v.name, text))
        if rows:
            formatter.write_dl(rows)
        else:
            formatter.write_text("none")
    with formatter.section("Run options"):
        formatter.write_text(
            "--engine, --image, --json, ... are listed by: podtask run --help. "
            "Exit codes: 0 succeeded, 1 the task failed, 2 bad input or spec, 130 interrupted."
        )
    return formatter.getvalue()
