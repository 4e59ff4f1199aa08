"""Importing a task file: names that podtask itself imports, files that exit (review s17 items 5, 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import write_task_file
from tests.conftest import run_cli

DOUBLE = """
import podtask

@podtask.task
def double(x: int) -> int:
    return x * 2
"""


def _no_runs(home: Path) -> bool:
    runs = home / "runs"
    return not runs.exists() or not any(runs.iterdir())


# hashlib: compile's template hash; string: logging's `from string import Template`, imported
# by the pod supervisor forked from the CLI. Neither may be the task file beside them.
@pytest.mark.parametrize("filename", ["hashlib.py", "string.py"])
def test_task_file_named_like_a_module_podtask_imports_runs(
    tmp_path: Path, filename: str, needs_root: None
) -> None:
    task = write_task_file(tmp_path, filename, DOUBLE)
    proc = run_cli("run", str(task), "--x", "21")
    assert proc.returncode == 0, proc.stderr
    assert "o0 = 42" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_task_file_named_hashlib_compiles(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "hashlib.py", DOUBLE)
    proc = run_cli("compile", str(task))
    assert proc.returncode == 0, proc.stderr
    assert "podtask.io/task: double" in proc.stdout


@pytest.mark.parametrize(
    ("tail", "shown"),
    [("raise SystemExit(3)", "exited (3)"), ("import sys\nsys.exit('bye')", "exited: bye")],
)
@pytest.mark.parametrize("command", ["run", "compile"])
def test_task_file_that_exits_on_import_exits_2_naming_the_file(
    tmp_path: Path, podtask_home: Path, tail: str, shown: str, command: str
) -> None:
    task = write_task_file(tmp_path, "quits.py", DOUBLE + "\n" + tail + "\n")
    args = ["run", str(task), "--x", "1"] if command == "run" else ["compile", str(task)]
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert f"error: FILE: importing {task} {shown}" in proc.stderr
    assert "if __name__ == '__main__'" in proc.stderr
    assert _no_runs(podtask_home)


LOGGING_PY = """
import logging

import podtask

@podtask.task
def level(x: int) -> int:
    import logging as again
    logging.getLogger("task").warning("logged by logging.py")
    return x + again.INFO
"""


def test_logging_py_importing_logging_gets_pythons_logging(
    tmp_path: Path, needs_root: None
) -> None:
    task = write_task_file(tmp_path, "logging.py", LOGGING_PY)
    proc = run_cli("run", str(task), "--x", "1")
    assert proc.returncode == 0, proc.stderr
    assert "o0 = 21" in proc.stdout  # 1 + logging.INFO
    assert "logged by logging.py" in proc.stdout + proc.stderr
