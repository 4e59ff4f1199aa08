"""What the fast run path must keep: exit work done, modules loaded once, outside the pod.

``podtask`` ends with ``os._exit`` once a command is done (skipping the
interpreter's module teardown); the local engine imports the primary's
entrypoint modules before it forks the pod, so they come from the host's
bytecode cache instead of being compiled inside the container on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from podtask.engines.local.linux import namespaces_available
from tests.cli.conftest import run_script, write_task_file

_NS_REASON = namespaces_available()

ATEXIT_TASK = """
import atexit
import os

import podtask

MARK = os.environ["ATEXIT_MARK"]


def _leave_mark():
    with open(MARK, "a") as fh:
        fh.write("atexit ran\\n")


atexit.register(_leave_mark)


@podtask.task
def hello(fail: bool = False) -> str:
    if fail:
        raise RuntimeError("asked to fail")
    return "hi"
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PODTASK_HOME": str(tmp_path / "home"), **extra}


@pytest.mark.parametrize(("args", "code"), [((), 0), (("--fail", "true"), 1)])
def test_atexit_handlers_and_exit_code_survive_the_fast_exit(
    tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    mark = tmp_path / "mark.txt"
    task = write_task_file(tmp_path, "atexit_task.py", ATEXIT_TASK)
    result = run_script("run", str(task), "hello", *args, env=_env(tmp_path, ATEXIT_MARK=str(mark)))
    assert result.returncode == code, result.stderr
    # Registered in the CLI process when it loaded the file: run exactly once there.
    assert mark.read_text() == "atexit ran\n"
    if code == 0:
        assert result.stdout.strip().endswith('o0 = "hi"')


def test_all_output_is_flushed_before_the_fast_exit(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "atexit_task.py", ATEXIT_TASK)
    env = _env(tmp_path, ATEXIT_MARK=str(tmp_path / "mark.txt"))
    for _ in range(3):
        assert run_script("run", str(task), "hello", env=env).returncode == 0
    listing = run_script("runs", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count('"run_id"') == 3  # the whole JSON document, not a cut one


@pytest.mark.skipif(_NS_REASON is not None, reason=str(_NS_REASON))
def test_primary_entrypoint_modules_are_compiled_on_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module first imported inside the container would leave its .pyc in the overlay."""
    prefix = tmp_path / "pycache"
    task = write_task_file(tmp_path, "atexit_task.py", ATEXIT_TASK)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    env = _env(tmp_path, ATEXIT_MARK=str(tmp_path / "mark.txt"), PYTHONPYCACHEPREFIX=str(prefix))
    result = run_script("run", str(task), "hello", env=env)
    assert result.returncode == 0, result.stderr
    tag = sys.implementation.cache_tag
    for module in ("runner", "apitransport"):
        found = list(prefix.rglob(f"podtask/entrypoint/{module}.{tag}.pyc"))
        assert found, f"podtask.entrypoint.{module} was not compiled on the host"
