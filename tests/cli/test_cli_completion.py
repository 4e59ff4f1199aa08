"""Issue 11 item 9: shell completion of commands, task names in a file and their inputs.

Driven through click's ``_PODTASK_COMPLETE`` protocol on the installed script,
as the shell's completion function calls it, and once through real bash.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import PODTASK_SCRIPT, run_script, write_task_file

TASKS = '''
import podtask

print("imported")  # must not leak into completions


@podtask.task
def greet(in1: str, times: int = 1) -> str:
    """Say hello."""
    return in1


@podtask.task
def grumble(level: int) -> None:
    pass
'''

ONE = """
import podtask

@podtask.task
def only(name: str, count: int = 1) -> None:
    pass
"""


def complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash completion offers for ``words`` (the last word is the one being typed)."""
    parts = words.split(" ")
    proc = run_script(
        env={
            "_PODTASK_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            **(env or {}),
        }
    )
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line]


def test_completes_commands() -> None:
    assert complete("podtask pr") == ["prune"]
    assert {"run", "runs", "compile", "describe", "logs", "prune", "completion"} <= set(
        complete("podtask ")
    )


def test_completes_task_names_of_the_file(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "tasks.py", TASKS)
    assert complete(f"podtask run {task} ") == ["greet", "grumble"]
    assert complete(f"podtask run {task} gre") == ["greet"]


def test_completes_the_inputs_of_the_task(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "tasks.py", TASKS)
    offered = complete(f"podtask run {task} greet --")
    assert offered[:2] == ["--in1", "--times"]
    assert "--engine" in offered  # run's own options still come
    assert complete(f"podtask run {task} grumble --le") == ["--level"]
    one = write_task_file(tmp_path, "one.py", ONE)
    assert complete(f"podtask run {one} --co") == ["--count", "--context"]


def test_a_broken_file_offers_nothing_and_does_not_fail(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "broken.py", "raise RuntimeError('no')\n")
    assert complete(f"podtask run {task} ") == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_command_prints_a_script(shell: str) -> None:
    proc = run_script("completion", shell)
    assert proc.returncode == 0, proc.stderr
    assert "_PODTASK_COMPLETE" in proc.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_real_bash_completes_task_names(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "tasks.py", TASKS)
    script = f"""
    export PATH="{PODTASK_SCRIPT.parent}:$PATH"
    eval "$(podtask completion bash)"
    COMP_WORDS=(podtask run {task} gr)
    COMP_CWORD=3
    _podtask_completion podtask  # as bash calls it: the command name first
    printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["greet", "grumble"]


def test_completes_run_ids_for_logs_describe_and_attach(podtask_home: Path) -> None:
    from podtask._storage import RunRecord, RunStore

    with RunStore.in_home(podtask_home) as store:
        for run_id in ("alpha-1", "alpha-2", "beta-1"):
            store.create(
                RunRecord(
                    run_id=run_id,
                    task="t",
                    source="m:t",
                    engine="local",
                    phase="SUCCEEDED",
                    run_dir=str(podtask_home / "runs" / run_id),
                )
            )
    for command in ("logs", "describe", "attach"):
        assert sorted(complete(f"podtask {command} al")) == ["alpha-1", "alpha-2"]
