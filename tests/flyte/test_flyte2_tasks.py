"""Flyte 2 SDK tasks (TaskEnvironment(pod_template=...)) run by podtask with their sidecars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip(
    "flyte", reason="needs the Flyte 2 SDK: scripts/test runs tests/flyte in .venv-flyte"
)

from tests.flyte.test_flytekit_tasks import podtask, run_json

TASKS = Path(__file__).resolve().parent / "tasks" / "flyte2_tasks.py"


def test_async_task_with_a_sidecar_on_the_local_engine() -> None:
    doc = run_json("read_shared", "--name", "ann", "--times", "2", file=TASKS)
    assert doc["phase"] == "SUCCEEDED", doc
    assert doc["outputs"] == {"o0": "hello ann: hi flyte 2 hello ann: hi flyte 2"}
    sidecar = next(c for c in doc["containers"] if c["name"] == "secondary")
    assert sidecar["state"] == "terminated" and sidecar["stop_signal_at"] is not None


def test_sync_task_and_the_environment_carried_into_compile(tmp_path: Path) -> None:
    assert run_json("double", "--x", "21", file=TASKS)["outputs"] == {"o0": 42}
    proc = podtask("compile", str(TASKS), "--task", "read_shared", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    template = json.loads((tmp_path / "read_shared.task.json").read_text())
    assert template["metadata"]["retries"] == 2
    assert template["metadata"]["timeoutSeconds"] == 120
    assert template["labels"] == {"team": "ml"}
    primary = template["podSpec"]["containers"][0]
    assert primary["resources"] == {
        "requests": {"cpu": "250m", "memory": "128Mi"},
        "limits": {"cpu": "1"},
    }
    assert primary["env"] == [{"name": "GREETING", "value": "hello"}]


def test_pod_template_by_name_is_refused() -> None:
    proc = podtask("run", str(TASKS), "uses_named_template")
    assert proc.returncode == 2
    assert "uses_named_template.pod_template: pod_template 'cluster-template'" in proc.stderr
