"""``podtask.run()``: the Python front door, and the public namespace it belongs to."""

from __future__ import annotations

import builtins
import inspect
import os
from pathlib import Path

import pytest

import podtask
from tests.run.conftest import needs_namespaces
from tests.run.tasks import api_tasks

TASKS = Path(api_tasks.__file__)


def test_all_is_exactly_the_public_names() -> None:
    """Like httpx: ``__all__`` lists every public name, sorted, and nothing else."""
    public = {
        name
        for name in dir(podtask)
        if not name.startswith("_")
        and not inspect.ismodule(getattr(podtask, name))
        and name not in ("TYPE_CHECKING", "annotations", "Any")
    }
    assert podtask.__all__ == sorted(public | {"__version__"})
    for name in podtask.__all__:
        assert getattr(podtask, name) is not None
    # podtask.map (workflow fan-out, as flytekit's map_task) is the one deliberate exception:
    # it lives in the podtask namespace and is always written podtask.map.
    assert set(podtask.__all__) & set(vars(builtins)) == {"map"}


@needs_namespaces
def test_run_a_task_object_returns_a_typed_result(tmp_path: Path) -> None:
    result = podtask.run(api_tasks.add, a=41)
    assert result.phase is podtask.TaskPhase.SUCCEEDED
    assert result.outputs == {"o0": 42}
    primary = next(c for c in result.containers if c.primary)
    assert isinstance(primary, podtask.ContainerResult) and primary.exit_code == 0
    assert result.exit_code == 0


@needs_namespaces
def test_a_failed_task_raises_task_failed_with_the_result_and_error_document() -> None:
    with pytest.raises(podtask.TaskFailed) as info:
        podtask.run(str(TASKS), {"x": 3}, task_name="refuses", engine="local")
    exc = info.value
    assert exc.result.phase is podtask.TaskPhase.FAILED and exc.exit_code == 1
    assert exc.error is not None and exc.error["message"] == "no 3"
    assert "ValueError" in exc.error["type"]
    result = podtask.run(api_tasks.refuses, x=3, check=False)
    assert result.phase == "FAILED" and not result.succeeded


def test_bad_input_is_a_spec_error_and_starts_nothing() -> None:
    with pytest.raises(podtask.SpecError) as info:
        podtask.run(api_tasks.add, a="not a number")
    assert info.value.field == "a"
    runs = Path(os.environ["PODTASK_HOME"]) / "runs"
    assert not runs.exists() or not any(runs.iterdir())
