"""Issue 11 items 1, 2, 4 and 7: task help, optional TASK, --json errors, the o0 hint.

Run through the installed console script and ``python -m podtask`` alike: click's
test runner would skip the argument handling these are about.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import json_error, run_script, write_task_file
from tests.conftest import run_cli

GREETER = '''
from typing import NamedTuple

import podtask


class Greeting(NamedTuple):
    text: str


@podtask.task
def greet(in1: str, times: int = 2) -> Greeting:
    """Greet someone, several times over.

    Args:
        in1: who to greet
        times: how many greetings
    Returns:
        text: the greetings, one per line
    """
    return Greeting("\\n".join(["hello " + in1] * times))
'''

TWO = """
import podtask


@podtask.task
def first(x: int) -> int:
    return x


@podtask.task
def second(y: int) -> int:
    return y
"""

RUNNERS = [pytest.param(run_cli, id="python-m"), pytest.param(run_script, id="script")]


@pytest.mark.parametrize("cli", RUNNERS)
def test_task_help_lists_inputs_and_outputs(tmp_path: Path, cli: object) -> None:
    task = write_task_file(tmp_path, "greeter.py", GREETER)
    for args in (["run", str(task), "greet", "--help"], ["run", str(task), "-h"]):
        proc = cli(*args)  # type: ignore[operator]
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert f"Usage: podtask run {task} greet --in1 TEXT [--times INTEGER]" in out
        assert "Greet someone, several times over." in out
        assert "--in1 TEXT" in out and "who to greet" in out and "[String, required]" in out
        assert "--times INTEGER" in out and "how many greetings" in out
        assert "[Integer, default: 2]" in out
        assert "Outputs:" in out and "the greetings, one per line" in out


def test_run_help_without_a_file_is_the_generic_help() -> None:
    proc = run_script("run", "--help")
    assert proc.returncode == 0
    assert "Usage: podtask run [RUN OPTIONS] FILE [TASK] [--INPUT VALUE]..." in proc.stdout
    assert "--engine" in proc.stdout


def test_help_of_a_file_with_several_tasks_lists_them(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "two.py", TWO)
    proc = run_script("run", str(task), "--help")
    assert proc.returncode == 0
    assert f"Tasks in {task}: first, second" in proc.stdout


@pytest.mark.parametrize("cli", RUNNERS)
def test_task_may_be_left_out_when_the_file_has_one(
    tmp_path: Path, cli: object, needs_root: None
) -> None:
    task = write_task_file(tmp_path, "greeter.py", GREETER)
    for inputs in (["--in1", "bob"], ["--in1=bob"], ["--in1=bob", "--times=1"]):
        proc = cli("run", str(task), *inputs, "--json")  # type: ignore[operator]
        assert proc.returncode == 0, proc.stderr
        outputs = json.loads(proc.stdout)["outputs"]
        assert outputs["text"].startswith("hello bob"), outputs


def test_several_tasks_and_no_task_named_lists_them(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "two.py", TWO)
    proc = run_script("run", str(task), "--x", "1")
    assert proc.returncode == 2
    assert "defines 2 tasks; say which one to run" in proc.stderr
    assert "first, second" in proc.stderr
    assert "--task" not in proc.stderr


@pytest.mark.parametrize("cli", RUNNERS)
def test_json_errors_print_one_object_on_stdout(tmp_path: Path, cli: object) -> None:
    task = write_task_file(tmp_path, "two.py", TWO)
    proc = cli("run", str(task), "first", "--x", "one", "--json")  # type: ignore[operator]
    assert proc.returncode == 2
    error = json_error(proc.stdout)
    assert error["type"] == "SpecError"
    assert error["field"] == "x"
    assert "one" in error["message"]
    missing = cli("run", str(tmp_path / "nope.py"), "--json")  # type: ignore[operator]
    assert missing.returncode == 2
    assert json_error(missing.stdout)["field"] == "FILE"
    unknown = cli("run", str(task), "third", "--json")  # type: ignore[operator]
    assert unknown.returncode == 2
    error = json_error(unknown.stdout)
    assert error["field"] == "TASK" and "first, second" in error["hint"]
    usage = cli("runs", "--limit", "0", "--json")  # type: ignore[operator]
    assert usage.returncode == 2
    assert json_error(usage.stdout)["field"] == "--limit"


def test_a_lone_return_value_is_o0_with_a_hint(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(tmp_path, "two.py", TWO)
    proc = run_script("run", str(task), "first", "--x", "5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "o0 = 5\n"
    assert "o0 is the task's return value" in proc.stderr
