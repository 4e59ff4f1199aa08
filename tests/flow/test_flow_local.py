"""Workflows on the local engine, through the real CLI: the issue's acceptance scenarios."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podtask._storage import RunStore
from podtask._storage.flows import FlowStore
from tests.flow.conftest import FLOWS, flow, node
from tests.run.conftest import needs_namespaces, pids_with, podtask, wait_for, wait_gone

pytestmark = [needs_namespaces, pytest.mark.slow]


def test_diamond_runs_b_and_c_at_once_with_the_right_value_at_d(marks: Path) -> None:
    rc, doc, err = flow("diamond", "--x", "4")
    assert rc == 0, err
    assert doc["phase"] == "SUCCEEDED"
    assert doc["outputs"] == {"o0": (5 * 2) + (5 * 3)}
    b, c = node(doc, "b"), node(doc, "c")
    assert b["started_at"] < c["ended_at"] and c["started_at"] < b["ended_at"], (b, c)
    # every node is a full podtask run with its own record and describe
    with RunStore.in_home() as store:
        for n in doc["nodes"]:
            assert store.get(n["run_id"]).phase == "SUCCEEDED"
    assert "helper" in podtask("describe", b["run_id"]).stdout
    shown = podtask("describe", doc["run_id"]).stdout
    assert "left<-b.o0, right<-c.o0" in shown and "x<-input x" in shown
    timeline = shown.split("Timeline:")[1]
    assert all(f"  {n} |" in timeline for n in "abcd"), shown
    runs = podtask("runs").stdout
    assert doc["run_id"] in runs and "4 succeeded" in runs
    logs = podtask("logs", doc["run_id"], "-c", "primary").stdout.splitlines()
    assert {line.split("]")[0] for line in logs} <= {
        "[a/primary",
        "[b/primary",
        "[c/primary",
        "[d/primary",
    }


def test_map_over_100_elements_at_concurrency_10(marks: Path) -> None:
    rc, doc, err = flow("squares", "--parallel", "10")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": sum(i * i for i in range(100))}
    elements = [n for n in doc["nodes"] if n["node"].startswith("square[")]
    assert len(elements) == 100 and all(n["phase"] == "SUCCEEDED" for n in elements)
    # at most 10 at once: no instant is inside more than 10 elements' [start, end)
    spans = [(n["started_at"], n["ended_at"]) for n in elements]
    peak = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert 1 < peak <= 10, peak


def test_map_with_failures_passes_above_the_ratio_and_names_indices_below(marks: Path) -> None:
    rc, doc, err = flow("tolerant", "--parallel", "10")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": sum(i * i for i in range(100) if i not in (7, 42, 99))}
    assert "failed indices: 7, 42, 99" in node(doc, "square_some_fail")["message"]

    rc, doc, err = flow("strict", "--parallel", "10")
    assert rc == 1, err
    assert doc["phase"] == "FAILED"
    assert "indices 7, 42, 99" in doc["message"] and "square_some_fail" in doc["message"]
    assert node(doc, "total")["phase"] == "SKIPPED"


def test_a_failing_node_stops_the_workflow_and_carries_its_error(marks: Path) -> None:
    rc, doc, err = flow("one_fails", "--x", "1", "--parallel", "1")
    assert rc == 1, err
    assert doc["phase"] == "FAILED"
    assert "node 'boom' failed" in doc["message"]
    assert doc["error"]["message"] == "boom at 2"  # the failed node's error document
    # --parallel 1: boom ran first and failed, so nothing new started after it
    assert node(doc, "slow_mark")["phase"] == "SKIPPED"
    assert node(doc, "d")["phase"] == "SKIPPED"
    assert not (marks / "independent").exists()


def test_continue_on_failure_runs_the_independent_branch(marks: Path) -> None:
    rc, doc, err = flow("one_fails", "--x", "1", "--continue-on-failure")
    assert rc == 1, err
    assert node(doc, "boom")["phase"] == "FAILED"
    assert node(doc, "slow_mark")["phase"] == "SUCCEEDED"
    assert node(doc, "after")["phase"] == "SUCCEEDED"
    assert node(doc, "after")["outputs"] == {"o0": 102}
    assert node(doc, "d")["phase"] == "SKIPPED"  # its input from boom never existed
    assert (marks / "independent").exists()


def test_cached_rerun_starts_no_pod_and_version_or_input_changes_rerun(marks: Path) -> None:
    runs = marks / "expensive"
    rc, first, err = flow("cached", "--x", "3")
    assert rc == 0, err
    assert first["outputs"] == {"o0": 31}
    assert len(runs.read_text().splitlines()) == 1

    rc, second, err = flow("cached", "--x", "3")
    assert rc == 0, err
    assert second["outputs"] == {"o0": 31}
    hit = node(second, "expensive")
    assert hit["reason"] == "CacheHit" and hit["run_id"] == node(first, "expensive")["run_id"]
    assert len(runs.read_text().splitlines()) == 1, "the cached task's container ran again"

    rc, _, err = flow("cached", "--x", "4")  # another input
    assert rc == 0, err
    rc, doc, err = flow("cached", "--x", "3", env={"FLOW_CACHE_V": "2"})  # another version
    assert rc == 0, err
    assert node(doc, "expensive")["reason"] != "CacheHit"
    rc, doc, err = flow("cached", "--x", "3", "--no-cache")
    assert rc == 0, err
    assert node(doc, "expensive")["reason"] != "CacheHit"
    assert len(runs.read_text().splitlines()) == 4
    rc, doc, err = flow("cached", "--x", "3", "--overwrite-cache")
    assert rc == 0, err
    assert len(runs.read_text().splitlines()) == 5
    rc, again, err = flow("cached", "--x", "3")
    assert node(again, "expensive")["run_id"] == node(doc, "expensive")["run_id"]  # replaced

    listed = podtask("cache", "list", "expensive", "--json")
    assert len(json.loads(listed.stdout)) == 3
    assert podtask("cache", "clear", "expensive").returncode == 0
    assert json.loads(podtask("cache", "list", "--json").stdout) == []


def test_kill_9_then_attach_resumes_without_rerunning_finished_nodes(marks: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(FLOWS), "resumable", "--x", "1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        wait_for(lambda: (marks / "gate-started").exists(), timeout=60, what="wait_gate running")
        with FlowStore.in_home() as store:
            wf = store.list(1)[0]
            before = {n.node_id: n for n in store.nodes(wf.run_id)}
        assert before["a"].phase == "SUCCEEDED"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    (marks / "gate-open").touch()
    r = podtask("attach", wf.run_id, "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["run_id"] == wf.run_id and doc["phase"] == "SUCCEEDED"
    assert doc["outputs"] == {"first": 2, "second": 7}
    assert node(doc, "a")["run_id"] == before["a"].child_run_id  # not run again
    assert node(doc, "wait_gate")["run_id"] != before["wait_gate"].child_run_id
    assert len((marks / "gate-started").read_text().splitlines()) == 2


def test_compile_time_errors_exit_2_naming_the_node(tmp_path: Path) -> None:
    bad = tmp_path / "bad_flow.py"
    bad.write_text(
        "import podtask\n\n"
        "@podtask.task\ndef f(n: int) -> str:\n    return str(n)\n\n"
        "@podtask.task\ndef g(v: int) -> int:\n    return v\n\n"
        "@podtask.workflow\ndef mismatch(n: int) -> int:\n    return g(v=f(n=n))\n\n"
        "@podtask.workflow\ndef unknown(n: int) -> int:\n    return g(w=n)\n"
    )
    r = podtask("run", str(bad), "mismatch", "--n", "1")
    assert r.returncode == 2 and "g.v" in r.stderr and "type mismatch" in r.stderr, r.stderr
    r = podtask("run", str(bad), "unknown", "--n", "1")
    assert r.returncode == 2 and "g.w" in r.stderr, r.stderr
    r = podtask("run", str(bad), "mismatch", "--m", "1")
    assert r.returncode == 2 and "no input 'm'" in r.stderr, r.stderr
    with FlowStore.in_home() as store:
        assert store.list() == [], "nothing may be recorded on bad input"


def test_terminal_view_redraws_one_line_per_node(marks: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(FLOWS), "diamond", "--x", "1"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=os.environ.copy(),
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode(errors="replace")
    assert "\x1b[F\x1b[K" in screen  # redrawn in place
    assert re.search(r"b\s+running\s+\d+\.\ds", screen), screen
    final = screen.rsplit("\x1b[K", 1)[-1]
    for name in "abcd":
        assert re.search(rf"^{name}\s+succeeded\s+\d+\.\ds", final, re.M), final


def test_ctrl_c_stops_the_running_nodes_and_records_aborted(marks: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(FLOWS), "resumable", "--x", "1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    wait_for(lambda: (marks / "gate-started").exists(), timeout=60, what="wait_gate running")
    with FlowStore.in_home() as store:
        wf = store.list(1)[0]
        child = {n.node_id: n for n in store.nodes(wf.run_id)}["wait_gate"].child_run_id
    assert pids_with(str(marks)), "the sidecar should be running"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["phase"] == "ABORTED" and node(doc, "wait_gate")["phase"] == "ABORTED"
    assert wait_gone(pids_with(str(marks))) == [], "a container outlived the interrupted workflow"
    with RunStore.in_home() as store:
        assert store.get(child).phase == "ABORTED"


def test_seed_style_task_and_sub_workflow_are_nodes_on_the_engine(marks: Path) -> None:
    rc, doc, err = flow("mixed", "--word", "sidecar")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": "SIDECAR", "o1": 8}
    assert node(doc, "legacy_shout")["outputs"] == {"shout": "SIDECAR", "size": 7}
    assert node(doc, "inner.a")["phase"] == "SUCCEEDED"


def test_resume_keeps_the_finished_elements_of_a_map(marks: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(FLOWS), "gated_map", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )

    def first_two_done() -> dict[str, Any] | None:
        with FlowStore.in_home() as store:
            wfs = store.list(1)
            if not wfs:
                return None
            nodes = {n.node_id: n for n in store.nodes(wfs[0].run_id)}
        done = [nodes.get(f"gated_element[{i}]") for i in (0, 1)]
        if all(n is not None and n.phase == "SUCCEEDED" for n in done):
            return {"run_id": wfs[0].run_id, "nodes": nodes}
        return None

    try:
        wait_for(lambda: (marks / "gate-started").exists(), timeout=60, what="an element waiting")
        before = wait_for(first_two_done, timeout=60, what="elements 0 and 1 recorded")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (marks / "gate-open").touch()
    r = podtask("attach", before["run_id"], "--json", timeout=180)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["outputs"] == {"o0": 10 * (0 + 1 + 2 + 3 + 4)}
    for i in (0, 1):
        kept = before["nodes"][f"gated_element[{i}]"].child_run_id
        assert node(doc, f"gated_element[{i}]")["run_id"] == kept
        assert len((marks / f"ran-{i}").read_text().splitlines()) == 1


def test_map_over_an_empty_list_succeeds_with_an_empty_list(marks: Path) -> None:
    rc, doc, err = flow("squares", "--count", "0")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": 0}
    assert node(doc, "square")["outputs"] == {"o0": []}
    assert node(doc, "square")["run_id"] is None  # no element, no run
