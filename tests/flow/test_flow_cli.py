"""``podtask compile`` of a workflow and the CLI's checks that need no engine."""

from __future__ import annotations

import json
import os
from pathlib import Path

from podtask._storage.flows import FlowStore
from tests.conftest import EXAMPLES, ROOT, run_cli
from tests.flow.conftest import FLOWS


def test_compile_writes_the_graph_beside_each_task_deterministically(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for out in (one, two):
        r = run_cli("compile", str(EXAMPLES / "workflow_example.py"), "nightly", "-o", str(out))
        assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir())
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    doc = json.loads((one / "nightly.workflow.json").read_text())
    assert set(doc) == {"workflow", "interface", "nodes", "edges", "outputs"}
    assert doc["interface"]["inputs"]["shards"] == {"type": "integer", "default": 4}
    for node in doc["nodes"].values():
        assert (one / node["template"]).is_file() and (one / node["pod"]).is_file()
    assert {"from": "fetch", "output": "o0", "to": "split", "input": "raw"} in doc["edges"]


def test_compile_of_a_task_name_still_compiles_the_task(tmp_path: Path) -> None:
    r = run_cli("compile", str(EXAMPLES / "workflow_example.py"), "clean", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.pod.yaml", "clean.task.json"]


def test_workflow_options_are_checked_before_anything_starts() -> None:
    r = run_cli("run", str(FLOWS), "diamond", "--x", "1", "--parallel", "0")
    assert r.returncode == 2 and "--parallel" in r.stderr, r.stderr
    r = run_cli("run", str(FLOWS), "diamond", "--x", "1", "--no-cache", "--overwrite-cache")
    assert r.returncode == 2, r.stderr
    r = run_cli("run", str(FLOWS), "diamond", "--x", "one")
    assert r.returncode == 2 and "x" in r.stderr, r.stderr
    r = run_cli("run", str(FLOWS), "diamond")
    assert r.returncode == 2 and "missing input 'x'" in r.stderr, r.stderr
    r = run_cli("run", str(FLOWS), "diamond", "--x", "1", "--engine", "nope")
    assert r.returncode == 2 and "unknown engine" in r.stderr, r.stderr
    with FlowStore.in_home() as store:
        assert store.list() == []


def test_run_help_names_the_workflow_options() -> None:
    text = run_cli("run", "--help").stdout
    assert "--parallel N" in text and "2 x CPU cores" in text and "--continue-on-failure" in text


def test_compiled_graph_matches_golden(tmp_path: Path) -> None:
    """The example's graph document is committed; drift fails (PODTASK_REGEN_GOLDEN=1 rewrites)."""
    r = run_cli("compile", str(EXAMPLES / "workflow_example.py"), "nightly", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "nightly.workflow.json").read_text()
    golden = ROOT / "tests" / "golden" / "workflow_example" / "nightly.workflow.json"
    if os.environ.get("PODTASK_REGEN_GOLDEN"):
        golden.write_text(text)
    assert golden.read_text() == text, f"{golden} drifted; regenerate and review the diff"
    for name in ("fetch", "split", "clean", "train", "evaluate"):
        assert (tmp_path / f"{name}.task.json").read_text() == (
            golden.parent / f"{name}.task.json"
        ).read_text()
