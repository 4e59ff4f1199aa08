"""``podtask run`` on the local engine: real processes, the real CLI, no mocks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.run.conftest import (
    TASKS,
    container,
    descendants,
    needs_namespaces,
    pids_with,
    podtask,
    run_json,
    start_background,
    wait_for,
    wait_gone,
)

pytestmark = [needs_namespaces, pytest.mark.slow]


def test_seed_example_runs_end_to_end() -> None:
    assert not Path("/data").exists()
    rc, doc, err = run_json("my_sidecar_task", file=EXAMPLES / "seed_working_example.py")
    assert rc == 0, err
    assert doc["phase"] == "SUCCEEDED"
    assert container(doc, "secondary")["exit_code"] == 0
    assert container(doc, "primary")["exit_code"] == 0
    assert not Path("/data").exists(), "the pod's volume must not appear on the host"


def test_typed_example_returns_its_output_through_json() -> None:
    rc, doc, err = run_json("greet", "--in1", "world", file=EXAMPLES / "typed_example.py")
    assert rc == 0, err
    assert doc["outputs"] == {"out1": "Hello, world: hi sidecar world"}
    assert set(doc) >= {"run_id", "task", "phase", "outputs", "error", "containers"}


def test_legacy_outputs_are_returned(tmp_path: Path) -> None:
    rc, doc, err = run_json(
        "simple_sidecar_task", "--in1", "podtask", file=EXAMPLES / "seed_simple_sidecar_task.py"
    )
    assert rc == 0, err
    assert doc["outputs"] == {"out1": "Hi, podtask"}
    logs = podtask("logs", doc["run_id"], "-c", "primary")
    assert "Hi, podtask I'll be run in a sidecar task!" in logs.stdout


def test_sidecar_that_never_exits_is_stopped_when_the_primary_ends(mark: str) -> None:
    started = time.monotonic()
    rc, doc, err = run_json("sidecar_never_exits")
    assert rc == 0, err
    assert time.monotonic() - started < 15
    primary = container(doc, "primary")
    sidecar = container(doc, "forever")
    assert sidecar["stop_signal_at"] is not None
    assert 0 <= sidecar["stop_signal_at"] - primary["finished_at"] < 0.5
    assert sidecar["finished_at"] - sidecar["stop_signal_at"] < 1.0
    assert doc["phase"] == "SUCCEEDED" and doc["sidecar_issues"] == []
    assert pids_with(mark) == []


def test_sidecar_ignoring_sigterm_is_killed_when_the_grace_period_ends(mark: str) -> None:
    rc, doc, err = run_json("sidecar_ignores_sigterm")
    assert rc == 0, err
    sidecar = container(doc, "stubborn")
    waited = sidecar["finished_at"] - sidecar["stop_signal_at"]
    assert 0.9 <= waited < 3.0, waited
    assert sidecar["signal"] == signal.SIGKILL or sidecar["exit_code"] == 137
    described = podtask("describe", doc["run_id"]).stdout
    assert "SIGKILL (grace ended)" in described
    assert pids_with(mark) == []


def test_grace_option_overrides_the_pod(mark: str) -> None:
    rc, doc, _ = run_json("sidecar_ignores_sigterm", "--grace", "0.2")
    assert rc == 0
    sidecar = container(doc, "stubborn")
    assert sidecar["finished_at"] - sidecar["stop_signal_at"] < 0.9


def test_primary_that_raises_fails_with_its_error_document(mark: str) -> None:
    rc, doc, _ = run_json("primary_raises", "--x", "7")
    assert rc == 1
    assert doc["phase"] == "FAILED"
    assert container(doc, "primary")["exit_code"] == 1
    assert doc["error"]["message"] == "bad value 7"
    assert "ValueError" in doc["error"]["type"]
    assert 'raise ValueError(f"bad value {x}")' in doc["error"]["traceback"]
    described = podtask("describe", doc["run_id"]).stdout
    assert "bad value 7" in described and "Traceback" in described
    run_dir = Path(doc["run_dir"])
    assert not [p for p in run_dir.rglob("*") if ".tmp" in p.name], "half-written files left behind"
    assert pids_with(mark) == []


def test_native_sidecar_with_startup_probe_starts_before_the_primary() -> None:
    rc, doc, err = run_json("native_sidecar_first")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": True}
    warmup = container(doc, "warmup")
    primary = container(doc, "primary")
    assert warmup["kind"] == "native-sidecar"
    assert warmup["ready_at"] is not None and warmup["ready_at"] <= primary["started_at"]
    assert warmup["stop_signal_at"] >= primary["finished_at"]


def test_init_containers_run_first_in_order() -> None:
    rc, doc, err = run_json("init_containers_in_order")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": "one two"}
    assert container(doc, "second")["finished_at"] <= container(doc, "primary")["started_at"]


def test_failing_init_container_fails_the_task_and_the_primary_never_starts() -> None:
    rc, doc, _ = run_json("init_container_fails")
    assert rc == 1
    assert doc["reason"] == "InitContainerFailed"
    assert "broken" in doc["message"]
    assert container(doc, "primary")["started_at"] is None


def test_two_concurrent_runs_bind_the_same_port() -> None:
    procs = [start_background("same_port", "--tag", t) for t in ("a", "b")]
    results = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    outputs = sorted(json.loads(out)["outputs"]["o0"] for out, _ in results)
    assert outputs == ["a:pong", "b:pong"]


def test_timeout_fails_the_task_with_reason_timeout(mark: str) -> None:
    started = time.monotonic()
    rc, doc, _ = run_json("times_out")
    assert rc == 1
    assert doc["phase"] == "FAILED" and doc["reason"] == "Timeout"
    assert time.monotonic() - started < 20
    assert pids_with(mark) == []


def test_retries_rerun_a_failed_attempt_and_record_each() -> None:
    rc, doc, err = run_json("flaky")
    assert rc == 0, err
    assert doc["attempts"] == 2
    assert doc["outputs"] == {"o0": 2}
    assert [c["attempt"] for c in doc["containers"]] == [1, 2]
    assert container(doc, "primary", attempt=1)["exit_code"] == 1
    described = podtask("describe", doc["run_id"]).stdout
    assert "Attempts:   2" in described


def test_sidecar_failure_policy_fail_fails_the_task() -> None:
    rc, doc, _ = run_json("sidecar_fails_task")
    assert rc == 1
    assert doc["reason"] == "SidecarFailed"
    assert "crasher" in doc["message"]


def test_sidecar_crash_is_reported_but_ignored_by_default() -> None:
    rc, doc, err = run_json("sidecar_crash_ignored")
    assert rc == 0, err
    assert any("crasher" in issue for issue in doc["sidecar_issues"])


def test_env_field_refs_expansion_and_working_dir() -> None:
    rc, doc, err = run_json("env_and_expansion")
    assert rc == 0, err
    assert doc["outputs"]["o0"] == f"pod={doc['run_id']} ns=default greeting=hello cwd=/tmp"


def test_memory_limit_ends_as_oomkilled() -> None:
    from podtask.engines.local.cgroups import cgroups_available

    problem = cgroups_available()
    if problem:
        pytest.skip(f"memory cgroups unavailable: {problem}")
    rc, doc, _ = run_json("eats_memory")
    assert rc == 1
    assert doc["reason"] == "OOMKilled"


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_interrupt_stops_the_pod_and_records_aborted(mark: str, how: str) -> None:
    proc = start_background("primary_sleeps")
    pids = wait_for(lambda: pids_with(mark), what="the sidecar to start")
    time.sleep(0.3)
    proc.send_signal(getattr(signal, how))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["phase"] == "ABORTED"
    assert wait_gone(pids) == []
    assert pids_with(mark) == []
    runs = json.loads(podtask("runs", "--json").stdout)
    assert next(r for r in runs if r["run_id"] == doc["run_id"])["phase"] == "ABORTED"


def test_kill_9_leaves_no_process_and_the_run_shows_lost(mark: str) -> None:
    proc = start_background("primary_sleeps")
    wait_for(lambda: pids_with(mark), what="the sidecar to start")
    time.sleep(0.3)
    pids = descendants(proc.pid)
    assert len(pids) >= 4, pids  # unshare, podinit, the primary, the sidecar
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert wait_gone(pids) == []
    runs = json.loads(podtask("runs", "--json").stdout)
    assert runs[0]["phase"] == "LOST"
    # Its work directory (overlay layers, emptyDirs) could not be removed by a killed
    # process: the next local run sweeps it.
    from podtask.engines.local.workdirs import work_root

    lost = runs[0]["run_id"][:40]
    assert any(p.name.startswith(lost) for p in work_root().iterdir())
    rc, _, _ = run_json("primary_sleeps", "--seconds", "0")
    assert rc == 0
    assert not any(p.name.startswith(lost) for p in work_root().iterdir())


def test_logs_and_outputs_are_retrievable_after_the_run() -> None:
    rc, doc, _ = run_json("primary_sleeps", "--seconds", "0.1")
    assert rc == 0
    logs = podtask("logs", doc["run_id"])
    assert "[primary] primary sleeping" in logs.stdout
    one = podtask("logs", doc["run_id"], "-c", "primary")
    assert one.stdout.strip() == "primary sleeping"
    missing = podtask("logs", doc["run_id"], "-c", "nope")
    assert missing.returncode == 2 and "forever" in missing.stderr


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["primary_raises", "--x", "seven"], "x"),
        (["primary_raises", "--y", "1"], "y"),
        (["primary_sleeps", "--seconds"], "seconds"),
        (["needs_image"], "spec.containers[1].command"),
        (["no_such_task"], "no_such_task"),
    ],
)
def test_bad_run_input_is_exit_2_and_nothing_starts(args: list[str], field: str) -> None:
    before = json.loads(podtask("runs", "--json").stdout)
    r = podtask("run", str(TASKS), *args)
    assert r.returncode == 2, r.stderr
    assert field in r.stderr
    assert json.loads(podtask("runs", "--json").stdout) == before


def test_runs_lists_newest_first() -> None:
    run_json("primary_sleeps", "--seconds", "0")
    _, doc, _ = run_json("primary_sleeps", "--seconds", "0")
    table = podtask("runs").stdout.splitlines()
    assert table[0].startswith("RUN ID")
    assert table[1].startswith(doc["run_id"])


def test_plain_output_streams_prefixed_logs_and_prints_outputs() -> None:
    r = subprocess.run(
        [
            os.sys.executable,
            "-m",
            "podtask",
            "run",
            str(EXAMPLES / "typed_example.py"),
            "greet",
            "--in1",
            "you",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert 'out1 = "Hello, you: hi sidecar world"' in r.stdout
    assert "SUCCEEDED" in r.stderr


def test_native_sidecar_mode_starts_sidecars_first_and_stops_them_after(mark: str) -> None:
    rc, doc, err = run_json("sidecar_never_exits", "--sidecar-mode", "native")
    assert rc == 0, err
    sidecar = container(doc, "forever")
    primary = container(doc, "primary")
    assert sidecar["kind"] == "native-sidecar"
    assert sidecar["started_at"] <= primary["started_at"]
    assert sidecar["stop_signal_at"] >= primary["finished_at"]
    assert doc["sidecar_issues"] == []
    assert pids_with(mark) == []


def test_managed_sidecar_mode_lets_the_primary_stop_its_sidecars(mark: str) -> None:
    rc, doc, err = run_json("sidecar_never_exits", "--sidecar-mode", "managed")
    assert rc == 0, err
    sidecar = container(doc, "forever")
    primary = container(doc, "primary")
    # The primary's entrypoint stopped the sidecar before it exited itself: podtask
    # sent no stop signal, and the sidecar's SIGTERM exit is not counted against the task.
    assert sidecar["stop_signal_at"] is None
    assert sidecar["exit_code"] == 143
    assert sidecar["finished_at"] <= primary["finished_at"]
    assert doc["phase"] == "SUCCEEDED" and doc["sidecar_issues"] == []
    assert pids_with(mark) == []
