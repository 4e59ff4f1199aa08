"""Remote storage without a cluster: fsspec ``file://`` URLs, code bundles, the in-pod side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podtask._errors import SpecError
from podtask._storage.remote import RemoteStore, make_code_bundle, unpack_code_bundle

TASKS = Path(__file__).parent / "tasks"


def test_store_round_trip(tmp_path: Path) -> None:
    store = RemoteStore(f"file://{tmp_path}/s").child("run")
    assert store.get_bytes("missing.json") is None
    store.put_bytes("a/b.json", b"{}")
    assert store.get_bytes("a/b.json") == b"{}"
    assert store.get_tree("a", tmp_path / "copy") == 1
    assert (tmp_path / "copy" / "b.json").read_bytes() == b"{}"
    store.delete("a")
    assert store.get_bytes("a/b.json") is None


def test_bundle_is_deterministic_and_skips_caches(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("X = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    one, two = make_code_bundle(tmp_path), make_code_bundle(tmp_path)
    assert one == two
    unpack_code_bundle(one, tmp_path / "out")
    assert sorted(
        p.relative_to(tmp_path / "out").as_posix()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    ) == ["pkg/m.py"]
    with pytest.raises(SpecError, match="ship-code"):
        make_code_bundle(tmp_path, limit=2)


def test_entrypoint_remote_fetches_code_and_inputs_and_publishes(tmp_path: Path) -> None:
    store = RemoteStore(f"file://{tmp_path}/store").child("run1")
    store.put_bytes("code.zip", make_code_bundle(TASKS))
    store.put_bytes("inputs.json", json.dumps({"name": "bundle"}).encode())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PODTASK_CODE_URL"] = store.join("code.zip")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podtask.entrypoint.remote",
            "--task",
            "k8s_tasks:greet",
            "--inputs",
            store.join("inputs.json"),
            "--output-prefix",
            store.join("outputs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = json.loads(store.get_bytes("outputs/outputs.json") or b"null")
    assert list(outputs.values()) == ["hello bundle"]


def test_entrypoint_remote_uploads_the_error_document(tmp_path: Path) -> None:
    store = RemoteStore(f"file://{tmp_path}/store").child("run2")
    store.put_bytes("code.zip", make_code_bundle(TASKS))
    store.put_bytes("inputs.json", json.dumps({"name": 3}).encode())
    env = {**os.environ, "PODTASK_CODE_URL": store.join("code.zip")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podtask.entrypoint.remote",
            "--task",
            "k8s_tasks:greet",
            "--inputs",
            store.join("inputs.json"),
            "--output-prefix",
            store.join("outputs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert json.loads(store.get_bytes("outputs/error.json") or b"{}")["kind"] == "spec"
    assert store.get_bytes("outputs/outputs.json") is None
