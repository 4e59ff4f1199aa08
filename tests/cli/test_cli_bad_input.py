"""Issue 8 item 8 and the env warning of item 4: bad bytes and shapes end in exit 2, cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import write_task_file
from tests.conftest import run_cli

GREETER = """
import podtask

@podtask.task
def greet(s: str) -> str:
    return s
"""


def test_non_utf8_input_value_exits_2_naming_the_input_and_writes_nothing(
    tmp_path: Path, podtask_home: Path
) -> None:
    task = write_task_file(tmp_path, "greeter.py", GREETER)
    # Arguments as raw bytes, as a shell passes $'\xff\xfe'.
    proc = subprocess.run(
        [
            sys.executable.encode(),
            b"-m",
            b"podtask",
            b"run",
            os.fsencode(task),
            b"--s",
            b"\xff\xfe",
        ],
        capture_output=True,
        timeout=120,
    )
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, err
    assert "error: s: the value is not valid UTF-8 text" in err
    assert "Traceback" not in err
    runs = podtask_home / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_pod_spec_nested_thousands_deep_exits_2_naming_the_path(tmp_path: Path) -> None:
    task = write_task_file(
        tmp_path,
        "deep.py",
        """
        import podtask

        spec = {"containers": [{"name": "primary"}]}
        node = spec["containers"][0]
        for _ in range(5000):
            node["x"] = {}
            node = node["x"]

        @podtask.task(pod=podtask.Pod(spec=spec, primary_container="primary"))
        def deep() -> None:
            pass
        """,
    )
    proc = run_cli("compile", str(task))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
    assert "error: pod_spec.containers[0].x.x.x" in proc.stderr
    assert "nested more than 100 levels deep" in proc.stderr


def test_pod_spec_yaml_nested_thousands_deep_exits_2(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text(
        "containers:\n- name: primary\n  x: " + "[" * 5000 + "]" * 5000 + "\n"
    )
    task = write_task_file(
        tmp_path,
        "deepy.py",
        """
        import podtask

        @podtask.task(pod=podtask.Pod(spec="deep.yaml", primary_container="primary"))
        def deepy() -> None:
            pass
        """,
    )
    proc = run_cli("compile", str(task))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "deep.yaml is nested too deeply to read" in proc.stderr


def test_runs_limit_too_large_exits_2() -> None:
    proc = run_cli("runs", "--limit", "100000000000000000000")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "OverflowError" not in proc.stderr
    assert "--limit" in proc.stderr


SECRETIVE = """
import podtask

spec = {"containers": [{"name": "primary", "env": [
    {"name": "DB_PASSWORD", "value": "hunter2-in-the-spec"}]}]}

@podtask.task(
    pod=podtask.Pod(spec=spec, primary_container="primary"),
    env={"DB_PASSWORD": "task-secret", "API_TOKEN": "tok-123"},
)
def secretive() -> None:
    pass
"""
SECRETS = ("hunter2", "task-secret", "tok-123")


def test_env_override_warning_names_the_variable_never_its_value(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "secretive.py", SECRETIVE)
    proc = run_cli("compile", str(task), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "env DB_PASSWORD is overridden by the task's environment" in proc.stderr
    for secret in SECRETS:
        assert secret not in proc.stderr + proc.stdout


def test_run_and_describe_show_env_names_never_values(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(tmp_path, "secretive.py", SECRETIVE)
    run = run_cli("run", str(task))
    assert run.returncode == 0, run.stderr
    assert "env DB_PASSWORD is overridden" in run.stderr
    run_id = run.stderr.split("run ", 1)[1].split()[0]
    described = run_cli("describe", run_id)
    assert described.returncode == 0, described.stderr
    shown = run.stdout + run.stderr + described.stdout + described.stderr
    for secret in SECRETS:
        assert secret not in shown
    assert "name: DB_PASSWORD" in described.stdout and "name: API_TOKEN" in described.stdout


VALUES = """
import datetime

import podtask

@podtask.task
def dur(dur: datetime.timedelta) -> float:
    return dur.total_seconds()

@podtask.task
def gen(d: dict) -> dict:
    return d

@podtask.task
def add(a: int) -> int:
    return a
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["dur", "--dur", "1e309"], "error: dur: expected Timedelta, got '1e309'"),
        (["dur", "--dur", "99999999999999999999"], "error: dur: expected Timedelta"),
        (["dur", "--dur", "inf"], "error: dur: expected Timedelta, got 'inf'"),
        (["gen", "--d", '{"x": NaN}'], "(JSON cannot hold NaN or infinity)"),
        (["gen", "--d", '{"x": [Infinity]}'], "(JSON cannot hold NaN or infinity)"),
        (["add", "--a", str(2**63)], "(an Integer is 64-bit: -9223372036854775808 to"),
        (["add", "--a", str(-(2**63) - 1)], "error: a: expected Integer"),
    ],
)
def test_out_of_range_input_values_exit_2_naming_the_input_and_start_nothing(
    tmp_path: Path, podtask_home: Path, args: list[str], expected: str
) -> None:
    task = write_task_file(tmp_path, "values.py", VALUES)
    proc = run_cli("run", str(task), *args)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    runs = podtask_home / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_int64_limit_itself_is_accepted(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(tmp_path, "values.py", VALUES)
    proc = run_cli("run", str(task), "add", "--a", str(2**63 - 1))
    assert proc.returncode == 0, proc.stderr
    assert f"o0 = {2**63 - 1}" in proc.stdout


@pytest.mark.parametrize("command", ["run", "compile"])
def test_non_utf8_file_name_exits_2_naming_the_file(
    tmp_path: Path, podtask_home: Path, command: str
) -> None:
    name = os.fsdecode(b"n\xffame.py")
    (tmp_path / name).write_text(GREETER)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podtask",
            command,
            name,
            *(["--s", "x"] if command == "run" else []),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert r"error: FILE: the path n\xffame.py is not valid UTF-8 text" in proc.stderr
    assert "Traceback" not in proc.stderr
    runs = podtask_home / "runs"
    assert not runs.exists() or not any(runs.iterdir())
