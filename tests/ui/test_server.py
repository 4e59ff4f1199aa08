"""The UI's parts without a browser: timeline lanes, log pages and search, guards, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podtask._storage import ContainerRecord, RunRecord
from podtask.ui import logs
from podtask.ui.lanes import build_timeline
from podtask.ui.security import host_ok, token_ok
from tests.conftest import EXAMPLES, run_cli
from tests.run.conftest import needs_namespaces
from tests.ui.conftest import LIFECYCLE

T0 = 1_000.0


def record(**kw: object) -> RunRecord:
    base: dict[str, object] = dict(
        run_id="r",
        task="m:t",
        source="m.py",
        engine="local",
        phase="SUCCEEDED",
        run_dir="/x",
        created_at=T0,
        ended_at=T0 + 5,
    )
    return RunRecord(**{**base, **kw})  # type: ignore[arg-type]


def test_lanes_merge_records_and_events_with_stop_signals_per_attempt() -> None:
    events = [
        {"event": "attempt", "attempt": 1, "time": T0},
        {"event": "started", "container": "primary", "attempt": 1, "time": T0 + 0.1},
        {"event": "started", "container": "side", "attempt": 1, "time": T0 + 0.2},
        {"event": "exited", "container": "primary", "attempt": 1, "time": T0 + 1, "exit_code": 1},
        {"event": "stop-signal", "container": "side", "signal": "SIGTERM", "time": T0 + 1.01},
        {"event": "stop-signal", "container": "side", "signal": "SIGKILL", "time": T0 + 3.01},
        {"event": "attempt", "attempt": 2, "time": T0 + 3.5},
        {"event": "started", "container": "primary", "attempt": 2, "time": T0 + 3.6},
        {"event": "started", "container": "side", "attempt": 2, "time": T0 + 3.6},
        {"event": "stop-signal", "container": "side", "signal": "SIGTERM", "time": T0 + 4.5},
    ]
    containers = [
        ContainerRecord(
            run_id="r",
            attempt=1,
            name="primary",
            kind="regular",
            is_primary=True,
            started_at=T0 + 0.1,
            ready_at=T0 + 0.1,
            finished_at=T0 + 1,
            exit_code=1,
        ),
        ContainerRecord(
            run_id="r",
            attempt=1,
            name="side",
            kind="regular",
            started_at=T0 + 0.2,
            finished_at=T0 + 3.02,
            exit_code=137,
            reason="Error",
        ),
    ]
    pod = {
        "metadata": {"annotations": {"podtask.io/primary-container": "primary"}},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "primary"}, {"name": "side"}],
        },
    }
    tl = build_timeline(
        record(containers=containers, phase="RUNNING", ended_at=None), events, pod, now=T0 + 5
    )
    assert [(x.attempt, x.container) for x in tl.lanes] == [
        (1, "primary"),
        (1, "side"),
        (2, "primary"),
        (2, "side"),
    ]
    side1, side2 = tl.lanes[1], tl.lanes[3]
    assert (side1.sigterm_at, side1.sigkill_at, side1.grace_end) == (
        T0 + 1.01,
        T0 + 3.01,
        T0 + 3.01,
    )
    assert side1.exit_code == 137 and side1.reason == "Error"
    # Attempt 2 is still running: its lanes come from events alone, the grace end from the pod.
    assert side2.running and side2.sigterm_at == T0 + 4.5 and side2.grace_end == T0 + 6.5
    assert tl.lanes[2].is_primary and tl.live and tl.end == T0 + 5
    assert tl.attempts == [(1, T0), (2, T0 + 3.5)]
    assert tl.to_json()["lanes"][1]["sigkill_at"] == pytest.approx(3.01)


def test_log_pages_start_and_end_on_lines_and_search_finds_lines_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "c.log"
    lines = [f"line {i} {'é' * (i % 7)}\n" for i in range(20_000)]
    log.write_text("".join(lines))
    data = log.read_bytes()
    tail = logs.page_before(log, None, limit=1000)
    assert tail.end == len(data) and tail.text.endswith("line 19999 " + "é" * (19999 % 7) + "\n")
    assert data[tail.start - 1 : tail.start] == b"\n"  # starts on a line
    earlier = logs.page_before(log, tail.start, limit=1000)
    assert earlier.end == tail.start and data[earlier.start - 1 : earlier.start] == b"\n"
    after = logs.page_after(log, 0, limit=1000)
    assert after.start == 0 and after.text.endswith("\n") and len(after.text.encode()) <= 1000
    # Small blocks force lines to straddle block edges.
    monkeypatch.setattr(logs, "SEARCH_BLOCK", 4096)
    found = logs.search(log, "LINE 1234 ")
    assert [m["line"] for m in found["matches"]] == [1235]
    m = found["matches"][0]
    assert data[m["offset"] :].startswith(b"line 1234 ")
    many = logs.search(log, "line", limit=50)
    assert many["truncated"] and len(many["matches"]) == 50
    assert logs.search(tmp_path / "missing.log", "x")["matches"] == []


def test_a_partial_last_line_is_held_back_while_the_log_is_written(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes(b"done\nhalf a li")
    page = logs.page_after(log, 0)
    assert page.text == "done\n" and page.end == 5
    assert logs.page_after(log, 0, whole_lines=False).text == "done\nhalf a li"


@pytest.mark.parametrize(
    ("header", "remote", "ok"),
    [
        ("127.0.0.1:8470", False, True),
        ("localhost:1", False, True),
        ("[::1]:8470", False, True),
        ("evil.example:8470", False, False),
        ("10.0.0.5:8470", False, False),
        (None, False, False),
        ("evil.example", True, True),
    ],
)
def test_only_loopback_host_names_are_answered(header: str | None, remote: bool, ok: bool) -> None:
    assert host_ok(header, remote_allowed=remote) is ok


def test_token_compare() -> None:
    assert token_ok("abc", "abc")
    assert not token_ok(None, "abc") and not token_ok("", "abc") and not token_ok("abd", "abc")


def test_non_loopback_host_needs_the_explicit_flag_and_starts_nothing() -> None:
    r = run_cli("ui", "--host", "0.0.0.0", "--port", "0", timeout=30)
    assert r.returncode == 2
    assert "--host" in r.stderr and "--allow-remote" in r.stderr
    assert "http://" not in r.stdout


def test_allow_remote_warns(podtask_home: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "podtask",
            "ui",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--allow-remote",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert "warning:" in proc.stderr.readline()
        assert "http://0.0.0.0:" in proc.stdout.readline() + proc.stdout.readline()
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    assert proc.returncode == 0


def test_neither_import_podtask_nor_other_commands_load_the_ui() -> None:
    code = (
        "import sys, podtask, podtask.cli.main, podtask.cli.run_cmd, podtask.cli.compile_cmd;"
        "print(sorted(m for m in sys.modules if m.startswith(('podtask.ui', 'http.server'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # `podtask --help` lists `ui`, which must not pull in the server either.
    code = (
        "import sys; from click.testing import CliRunner; from podtask.cli.main import cli;"
        "r = CliRunner().invoke(cli, ['--help']); assert ' ui ' in r.output, r.output;"
        "print(sorted(m for m in sys.modules if m.startswith(('podtask.ui', 'http.server'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_page_files_ship_inside_the_package() -> None:
    from importlib import resources

    static = resources.files("podtask.ui").joinpath("static")
    for name in ("index.html", "app.js", "app.css", "favicon.svg"):
        assert static.joinpath(name).is_file(), name


@pytest.mark.slow
@needs_namespaces
def test_describe_timeline_draws_the_lanes_in_text() -> None:
    r = run_cli("run", str(LIFECYCLE), "sidecar_ignores_sigterm", "--json")
    assert r.returncode == 0, r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    out = run_cli("describe", run_id, "--timeline")
    assert out.returncode == 0, out.stderr
    rows = {
        line.split("│")[0].strip(): line.split("│")[1]
        for line in out.stdout.splitlines()
        if line.count("│") == 2
    }
    primary, stubborn = rows["1  primary (primary)"], rows["1  stubborn"]
    # The sidecar gets SIGTERM when the primary exits, is shaded through the grace, then SIGKILL.
    assert stubborn.index("T") >= primary.index("■") - 1
    assert "░" in stubborn[stubborn.index("T") : stubborn.index("K")]
    assert "SIGKILL" in out.stdout and "(grace ended)" in out.stdout and "exit 137" in out.stdout
    seed = run_cli("run", str(EXAMPLES / "seed_working_example.py"), "my_sidecar_task", "--json")
    assert seed.returncode == 0, seed.stderr
    out = run_cli("describe", json.loads(seed.stdout)["run_id"][:20], "--timeline")
    assert out.returncode == 0 and "secondary" in out.stdout and "primary (primary)" in out.stdout


def test_a_port_in_use_is_exit_2_naming_the_option() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cli("ui", "--port", str(port), timeout=30)
    assert r.returncode == 2
    assert "--port" in r.stderr and str(port) in r.stderr
    assert "http://" not in r.stdout
