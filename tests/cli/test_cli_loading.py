"""How the CLI loads a task file: stdlib names (issue 8 item 9), one bad task (issue 11 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import write_task_file
from tests.conftest import run_cli

HELLO = """
import podtask

@podtask.task
def hello(name: str = "world") -> str:
    return "hello " + name
"""


@pytest.mark.parametrize("filename", ["types.py", "logging.py", "json.py"])
def test_task_file_named_like_a_stdlib_module_compiles(tmp_path: Path, filename: str) -> None:
    task = write_task_file(tmp_path, filename, HELLO)
    proc = run_cli("compile", str(task))
    assert proc.returncode == 0, proc.stderr
    assert "podtask.io/task: hello" in proc.stdout


def test_task_file_named_like_a_stdlib_module_runs(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(tmp_path, "types.py", HELLO)
    proc = run_cli("run", str(task), "hello", "--name", "bob")
    assert proc.returncode == 0, proc.stderr
    assert 'o0 = "hello bob"' in proc.stdout


TWO_TASKS_ONE_BROKEN = """
from typing import Optional

import podtask

@podtask.task
def good(name: str) -> str:
    return "hi " + name

@podtask.task
def broken(n: Optional[int]) -> int:
    return 1
"""


def test_a_broken_task_does_not_block_the_others(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "mixed.py", TWO_TASKS_ONE_BROKEN)
    ok = run_cli("compile", str(task), "--task", "good")
    assert ok.returncode == 0, ok.stderr
    assert "broken" not in ok.stderr
    bad = run_cli("compile", str(task), "--task", "broken")
    assert bad.returncode == 2
    assert "error: broken.n: union types are not task types" in bad.stderr
    whole = run_cli("compile", str(task))
    assert whole.returncode == 2
    assert "broken.n" in whole.stderr


def test_a_broken_task_does_not_block_running_another(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(tmp_path, "mixed.py", TWO_TASKS_ONE_BROKEN)
    proc = run_cli("run", str(task), "good", "--name", "ann")
    assert proc.returncode == 0, proc.stderr
    assert 'o0 = "hi ann"' in proc.stdout


def test_plain_import_of_a_broken_task_still_raises(tmp_path: Path) -> None:
    """Deferring is for loaders only: Python code importing the file sees the error at once."""
    import subprocess
    import sys

    write_task_file(tmp_path, "mixed_mod.py", TWO_TASKS_ONE_BROKEN)
    proc = subprocess.run(
        [sys.executable, "-c", "import mixed_mod"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "SpecError: broken.n: union types are not task types" in proc.stderr


def test_an_unknown_task_is_named_as_each_command_spells_it(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "mixed.py", TWO_TASKS_ONE_BROKEN)
    compiled = run_cli("compile", str(task), "--task", "nope")
    assert compiled.returncode == 2
    assert "error: --task: no task named 'nope'" in compiled.stderr
    assert "tasks in that file: good, broken" in compiled.stderr
    ran = run_cli("run", str(task), "nope")
    assert ran.returncode == 2
    assert "error: TASK: no task named 'nope'" in ran.stderr
