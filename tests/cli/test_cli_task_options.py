"""Options in the wrong place name what they are (review s17 item 14), not a file or an input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_cli

TYPED = str(EXAMPLES / "typed_example.py")


def _no_runs(home: Path) -> bool:
    runs = home / "runs"
    return not runs.exists() or not any(runs.iterdir())


def test_unknown_option_before_file_is_named_as_an_option(podtask_home: Path) -> None:
    proc = run_cli("run", "--bogus", TYPED, "add", "--a", "1")
    assert proc.returncode == 2, proc.stderr
    assert "error: no such option: --bogus (the command's --help lists its options)" in proc.stderr
    assert "no such file" not in proc.stderr
    assert _no_runs(podtask_home)


@pytest.mark.parametrize(
    "args",
    [
        ["--a", "1", "--parallel", "3"],
        ["--a", "1", "--parallel=3"],
        ["--a", "1", "--continue-on-failure"],
        ["--no-cache", "--a", "1"],
        ["--a", "1", "--overwrite-cache"],
    ],
)
def test_workflow_option_given_to_a_task_says_it_is_for_workflows(
    podtask_home: Path, args: list[str]
) -> None:
    proc = run_cli("run", TYPED, "add", *args)
    assert proc.returncode == 2, proc.stderr
    flag = next(a for a in args if a.startswith("--") and a != "--a").partition("=")[0]
    assert f"error: {flag}: {flag} applies to workflows only" in proc.stderr
    assert f"(drop {flag})" in proc.stderr
    assert "has no input" not in proc.stderr
    assert _no_runs(podtask_home)


def test_unknown_input_still_lists_the_inputs() -> None:
    proc = run_cli("run", TYPED, "add", "--a", "1", "--c", "2")
    assert proc.returncode == 2, proc.stderr
    assert "error: c: add has no input 'c' (inputs: --a, --b)" in proc.stderr


def test_input_without_value_names_it() -> None:
    proc = run_cli("run", TYPED, "add", "--a")
    assert proc.returncode == 2, proc.stderr
    assert "error: a: --a needs a value" in proc.stderr
