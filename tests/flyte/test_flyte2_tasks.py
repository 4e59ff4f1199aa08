"""Flyte 2 SDK tasks (TaskEnvironment(pod_template=...)) run by podtask with their sidecars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip(
    "flyte", reason="needs the Flyte 2 SDK: scripts/test runs tests/flyte in .venv-flyte"
)

from tests.flyte.flytekit_tools import make_tree, tree
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


def test_file_and_dir_in_and_out_with_a_sidecar(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "beta"})
    note = make_tree(tmp_path / "n", {"note.md": "remember"}) / "note.md"
    doc = run_json("gather", "--src", str(src), "--note", str(note), file=TASKS)
    assert doc["phase"] == "SUCCEEDED", doc
    out = Path(doc["outputs"]["o0"])
    assert "/outputs/blobs/" in str(out)  # stored with the run
    assert tree(out) == {
        "a.txt": "alpha", "sub/b.txt": "beta", "note.txt": "remember",
        "message.txt": "hi flyte 2\n",
    }  # fmt: skip
    listed = run_json("listing", "--d", str(out), file=TASKS)
    assert listed["phase"] == "SUCCEEDED", listed
    assert Path(listed["outputs"]["o0"]).read_text() == "a.txt,b.txt,message.txt,note.txt"


# flyte.io's models use pydantic's class-based config, which pydantic 2 warns about.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_file_and_dir_are_flytes_blob_types() -> None:
    from flyte.io import Dir, File
    from flyte.types import TypeEngine

    from podtask._types import Types
    from podtask.interop.flyte.types import to_flyte_type

    # Flyte 2's messages are flyteidl2's: compare their wire form with flyteidl's.
    for ours, theirs in ((Types.Blob, File), (Types.Directory, Dir)):
        want = TypeEngine.to_literal_type(theirs).SerializeToString(deterministic=True)
        assert to_flyte_type(ours).SerializeToString(deterministic=True) == want


def test_a_dir_input_must_be_an_existing_directory(tmp_path: Path) -> None:
    proc = podtask("run", str(TASKS), "listing", "--d", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert f"d: no such directory: {tmp_path / 'nope'}" in proc.stderr, proc.stderr
