"""The API-only transport's two ends without a cluster: the encoding, the pod's side, the limits."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from podtask._errors import SpecError
from podtask._lifecycle import TaskPhase, Verdict
from podtask.engines.kubernetes import transport
from podtask.engines.kubernetes.api_io import check_api_size, read_results
from podtask.entrypoint import apitransport


def test_outputs_round_trip_through_the_message() -> None:
    files = {
        "outputs.json": json.dumps({"out": {"scalar": "x" * 3000}}).encode(),
        "blobs/b.bin": bytes(range(256)),
    }
    message = transport.encode_results(files)
    assert len(message.encode()) <= transport.MESSAGE_LIMIT  # 3 KB of text compresses
    doc = transport.decode_results(message)
    assert {k: transport.file_bytes(v) for k, v in doc.items()} == files


def test_long_traceback_is_cut_to_fit_keeping_the_message() -> None:
    tail = os.urandom(3000).hex()  # incompressible
    error = {"kind": "user", "type": "ValueError", "message": "bad", "traceback": "x\n" + tail}
    message = transport.encode_results({"error.json": json.dumps(error).encode()})
    assert len(message.encode()) <= transport.MESSAGE_LIMIT
    doc = json.loads(transport.file_bytes(transport.decode_results(message)["error.json"]))
    assert doc["message"] == "bad" and doc["traceback"].endswith(tail[-50:])
    assert "cut to fit" in doc["traceback"]


def test_results_too_large_say_so() -> None:
    message = transport.encode_results({"outputs.json": os.urandom(8000).hex().encode()})
    assert len(message.encode()) <= transport.MESSAGE_LIMIT
    limit = transport.decode_results(message)["limit"]
    assert limit["max"] == transport.MESSAGE_LIMIT and limit["bytes"] > transport.MESSAGE_LIMIT


@pytest.mark.parametrize(
    "message", [None, "", "Traceback (most recent call last):", "podtask/1:!!"]
)
def test_a_message_that_is_not_ours(message: str | None) -> None:
    with pytest.raises(transport.NotOurs):
        transport.decode_results(message)


def _pod(message: str) -> dict[str, Any]:
    terminated = {"exitCode": 0, "message": message}
    statuses = [{"name": "main", "state": {"terminated": terminated}}]
    return {"metadata": {"name": "p"}, "status": {"containerStatuses": statuses}}


class _Ctx:
    primary = "main"
    attempt = 1

    def __init__(self, out: Path) -> None:
        self.output_prefix = out
        self.events: list[dict[str, Any]] = []

    def on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def test_pod_side_publishes_and_client_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entrypoint's publish writes what the engine's reader turns back into outputs."""
    pod_out = tmp_path / "pod"
    (pod_out / "blobs").mkdir(parents=True)
    (pod_out / "blobs" / "f.txt").write_text("blob")
    blob = f"{transport.output_dir('p')}/blobs/f.txt"
    (pod_out / "outputs.json").write_text(json.dumps({"f": {"blob": {"uri": blob}}}))
    termination_log = tmp_path / "termination-log"
    monkeypatch.setenv(transport.RESULT_MESSAGE_ENV, str(termination_log))
    apitransport.publish(str(pod_out))
    client_out = tmp_path / "client"
    ok = Verdict(TaskPhase.SUCCEEDED, "Completed", "")
    ctx: Any = _Ctx(client_out)
    assert read_results(ctx, _pod(termination_log.read_text()), ok) is ok
    outputs = json.loads((client_out / "outputs.json").read_text())
    assert outputs == {"f": {"blob": {"uri": f"{client_out}/blobs/f.txt"}}}
    assert (client_out / "blobs" / "f.txt").read_text() == "blob"
    assert [e["event"] for e in ctx.events] == ["task-started", "task-finished"]
    assert {e["time_source"] for e in ctx.events} == {"entrypoint"}


def test_results_too_large_fail_the_run_naming_storage(tmp_path: Path) -> None:
    message = transport.encode_results({"outputs.json": os.urandom(8000).hex().encode()})
    ok = Verdict(TaskPhase.SUCCEEDED, "Completed", "")
    ctx: Any = _Ctx(tmp_path)
    verdict = read_results(ctx, _pod(message), ok)
    assert verdict.phase is TaskPhase.FAILED and verdict.reason == "ResultsTooLarge"
    assert "4096 bytes" in verdict.message and "--storage" in verdict.message


def test_code_and_inputs_over_a_configmap_are_refused_with_the_limits() -> None:
    check_api_size(b"x" * 1000, b"{}")
    with pytest.raises(SpecError) as info:
        check_api_size(b"x" * (1024 * 1024), b"{}")
    assert info.value.field == "--storage"
    assert "1020 KiB" in str(info.value) and "4096 bytes" in str(info.value)


def test_load_code_unpacks_the_bundle_onto_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podtask._storage.remote import make_code_bundle

    src = tmp_path / "src"
    src.mkdir()
    (src / "shipped_mod_for_test.py").write_text("VALUE = 42\n")
    bundle = tmp_path / "code.zip"
    bundle.write_bytes(make_code_bundle(src))
    monkeypatch.setattr(transport, "WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv(transport.CODE_BUNDLE_ENV, str(bundle))
    monkeypatch.setattr(sys, "path", list(sys.path))
    apitransport.load_code()
    try:
        assert importlib.import_module("shipped_mod_for_test").VALUE == 42
    finally:
        sys.modules.pop("shipped_mod_for_test", None)
    assert transport.CODE_BUNDLE_ENV not in os.environ
