"""Errors of ``podtask.run()`` name its Python arguments, not the CLI's flags (review s17 item 17)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import podtask
from tests.conftest import run_cli
from tests.run.tasks import api_tasks

TASKS = Path(api_tasks.__file__)


def _no_runs() -> bool:
    runs = Path(os.environ["PODTASK_HOME"]) / "runs"
    return not runs.exists() or not any(runs.iterdir())


def test_missing_input_names_the_python_argument() -> None:
    with pytest.raises(podtask.SpecError) as info:
        podtask.run(api_tasks.add, engine="local")
    message = str(info.value)
    assert message == "a: missing input 'a' (Integer) (pass inputs={'a': ...} to podtask.run())"
    assert "--a" not in message
    assert _no_runs()


def test_the_cli_keeps_its_flag_hint() -> None:
    proc = run_cli("run", str(TASKS), "add")
    assert proc.returncode == 2, proc.stderr
    assert "error: a: missing input 'a' (Integer) (pass --a VALUE)" in proc.stderr


def test_unknown_task_name_names_task_name() -> None:
    with pytest.raises(podtask.SpecError) as info:
        podtask.run(TASKS, task_name="nope")
    assert info.value.field == "task_name"
    assert str(info.value).startswith("task_name: no task named 'nope'")
    assert "TASK" not in str(info.value)
    assert _no_runs()


def test_missing_file_names_the_task_argument(tmp_path: Path) -> None:
    with pytest.raises(podtask.SpecError) as info:
        podtask.run(tmp_path / "absent.py")
    assert info.value.field == "task"
    assert "FILE" not in str(info.value)
