"""Errors for the words after ``podtask run FILE TASK`` that name no input of the task.

A task's inputs are options (``--a 1``), so a misplaced option of ``run``
itself would otherwise read as an input the task lacks; the error says what
the option is for instead.
"""

from __future__ import annotations

from podtask._errors import SpecError
from podtask.cli.flow_cmd import FLAGS

#: Options ``run`` takes only when TASK names a workflow.
WORKFLOW_ONLY = ("--parallel", *FLAGS)


def _workflow_only(flag: str, task: str | None) -> SpecError:
    what = f", and {task} is a task" if task else ""
    return SpecError(f"{flag} applies to workflows only{what}", field=flag, hint=f"drop {flag}")


def is_bare_flag(flag: str, following: str | None) -> bool:
    """True when ``flag`` has no value after it (a workflow-only switch takes none)."""
    return following is None or (flag in FLAGS and following.startswith("--"))


def missing_value(flag: str) -> SpecError:
    """The error for ``--NAME`` with no value after it."""
    if flag in WORKFLOW_ONLY:
        return _workflow_only(flag, None)
    return SpecError(f"{flag} needs a value", field=flag[2:].replace("-", "_"))


def no_such_input(task: str, key: str, inputs: list[str]) -> SpecError:
    """Why ``--KEY`` is refused for ``task`` (whose inputs are ``inputs``)."""
    flag = "--" + key.replace("_", "-")
    if flag in WORKFLOW_ONLY:
        return _workflow_only(flag, task)
    names = ", ".join(f"--{n}" for n in inputs) or "none"
    return SpecError(f"{task} has no input {key!r}", field=key, hint=f"inputs: {names}")
