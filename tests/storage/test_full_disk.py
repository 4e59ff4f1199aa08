"""A full disk under PODTASK_HOME (issue 8 item 6), on a real 400 KiB tmpfs, through the CLI.

Wanted: one line naming PODTASK_HOME and its free space, exit 1 (the run failed
for a system reason) or 2 (nothing started), no traceback; no finished run is
LOST, no run directory without a record; ``runs`` and ``describe`` still read.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.run.conftest import needs_namespaces

TASKS = Path(__file__).parent / "full_disk_tasks.py"


@pytest.fixture
def small_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """PODTASK_HOME on a 400 KiB tmpfs (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(home)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    monkeypatch.setenv("PODTASK_HOME", str(home))
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def records(home: Path) -> dict[str, tuple[str, str, str]]:
    """Each run's (phase, reason, message), read without writing to a maybe full disk."""
    conn = sqlite3.connect(f"file:{home / 'podtask.db'}?immutable=1", uri=True)
    try:
        rows = conn.execute("SELECT run_id, phase, reason, message FROM runs").fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}
    finally:
        conn.close()


def phases(home: Path) -> dict[str, str]:
    return {run_id: r[0] for run_id, r in records(home).items()}


def fill(home: Path) -> None:
    """Take every free byte left on the home's disk."""
    fd = os.open(home / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


@needs_namespaces
def test_ten_runs_on_a_tiny_home_end_cleanly(small_home: Path) -> None:
    codes = []
    for _ in range(10):
        r = run_cli("run", str(TASKS), "chatty", "--kib", "40")
        codes.append(r.returncode)
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode in (0, 1, 2), r.stderr
        if r.returncode:
            last = r.stderr.strip().splitlines()[-1]
            assert re.match(rf"error: PODTASK_HOME {re.escape(str(small_home))} is full \(", last)
            assert re.search(r"\(\d+(\.\d)? (B|KiB) free", last), last
    assert 0 in codes and 2 in codes, codes  # some ran, then the full disk stopped the rest
    assert codes == sorted(codes, key=lambda c: c == 2), "a run started after a refusal"
    recorded = phases(small_home)
    assert "LOST" not in recorded.values(), recorded
    assert sorted(p.name for p in (small_home / "runs").iterdir()) == sorted(recorded)
    assert len(recorded) == codes.index(2)


@needs_namespaces
def test_a_run_that_fills_the_disk_is_recorded_and_the_disk_is_still_readable(
    small_home: Path,
) -> None:
    first = run_cli("run", str(TASKS), "chatty", "--kib", "10", "--json")
    assert first.returncode == 0, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    # This one's log takes the disk: its writes fail, it carries on and ends.
    flood = run_cli("run", str(TASKS), "chatty", "--kib", "2000", "--json")
    assert "Traceback" not in flood.stderr, flood.stderr
    assert flood.returncode in (0, 1), flood.stderr
    doc = json.loads(flood.stdout)
    assert doc["phase"] in ("SUCCEEDED", "FAILED")
    assert phases(small_home)[doc["run_id"]] == doc["phase"]  # recorded, never LOST
    assert not (small_home / ".podtask-reserve").exists()  # it took the reserve to get there
    if doc["phase"] == "SUCCEEDED":  # the task coped: its result stands, its log is cut
        assert f"end where the disk filled: PODTASK_HOME {small_home} is full (" in flood.stderr
    fill(small_home)
    listed = run_cli("runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["run_id"] for r in json.loads(listed.stdout)} >= {run_id, doc["run_id"]}
    described = run_cli("describe", run_id)
    assert described.returncode == 0, described.stderr
    assert "SUCCEEDED" in described.stdout
    refused = run_cli("run", str(TASKS), "chatty")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"PODTASK_HOME {small_home} is full (0 B free" in refused.stderr
    assert len(list((small_home / "runs").iterdir())) == 2


@needs_namespaces
def test_a_task_killed_by_the_disk_filling_ends_in_the_full_disk_line(small_home: Path) -> None:
    """Review item 4: the task's own `Error` hid the cause; now the one line, exit 1."""
    r = run_cli("run", str(TASKS), "flood", "--kib", "2000")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert re.match(rf"error: PODTASK_HOME {re.escape(str(small_home))} is full \(", last), last
    assert re.search(r"\(\d+(\.\d)? (B|KiB) free", last), last
    assert "which failed (Error) as the disk filled" in last, last
    [(run_id, (phase, reason, message))] = records(small_home).items()
    assert (phase, reason) == ("FAILED", "StorageFull")
    assert message.startswith(f"PODTASK_HOME {small_home} is full")
    log = (small_home / "runs" / run_id / "logs" / "primary.log").read_bytes()
    assert len(log) > 100 * 1024  # what fit is kept
    assert set(log.splitlines()[0]) == {ord("y")}


@needs_namespaces
def test_json_gives_the_error_object_for_a_full_disk_during_and_before_a_run(
    small_home: Path,
) -> None:
    during = run_cli("run", str(TASKS), "flood", "--kib", "2000", "--json")
    assert during.returncode == 1, during.stderr
    error = json.loads(during.stdout)["error"]
    assert error["type"] == "StorageFull"
    assert error["message"].startswith(f"PODTASK_HOME {small_home} is full (")
    fill(small_home)
    before = run_cli("run", str(TASKS), "chatty", "--json")
    assert before.returncode == 2, before.stderr
    error = json.loads(before.stdout)["error"]
    assert error["type"] == "StorageFull"
    assert "cannot start a run" in error["message"]
    assert len(list((small_home / "runs").iterdir())) == 1  # nothing started


def test_runs_sweeps_run_dirs_that_never_got_a_record(podtask_home: Path) -> None:
    from podtask._storage import RunStore

    with RunStore.in_home(podtask_home):
        pass  # the database exists, with no run
    old, young = podtask_home / "runs" / "old-1", podtask_home / "runs" / "young-1"
    for d in (old, young):
        (d / "logs").mkdir(parents=True)
    os.utime(old, (1_000_000, 1_000_000))  # e.g. podtask was killed before writing its record
    r = run_cli("runs")
    assert r.returncode == 0, r.stderr
    assert not old.exists() and young.exists()  # a young one may be a run starting right now


@pytest.mark.parametrize("nothing_started, code", [(True, 2), (False, 1)])
def test_storage_full_is_one_line_and_its_exit_code(
    nothing_started: bool, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from podtask._errors import StorageFull
    from podtask.cli.common import handle_errors

    @handle_errors
    def command() -> None:
        raise StorageFull(
            "PODTASK_HOME /h is full (0 B free): cannot x", nothing_started=nothing_started
        )

    with pytest.raises(SystemExit) as info:
        command()
    assert info.value.code == code
    assert capsys.readouterr().err == "error: PODTASK_HOME /h is full (0 B free): cannot x\n"


def test_a_store_opened_on_a_full_disk_reads_and_spends_the_reserve_to_write(
    small_home: Path,
) -> None:
    from podtask._storage import RunRecord, RunStore
    from podtask._storage.space import RESERVE_NAME, ensure_reserve

    with RunStore.in_home(small_home) as store:
        store.create(
            RunRecord(
                run_id="r-1",
                task="t",
                source="s",
                engine="local",
                phase="RUNNING",
                run_dir=str(small_home / "runs" / "r-1"),
            )
        )
    ensure_reserve(small_home)
    fill(small_home)
    with RunStore.in_home(small_home) as store:
        assert store.read_only  # SQLite could not even map its WAL index
        assert store.get("r-1").phase == "RUNNING"  # reads work on a full disk
        store.update("r-1", phase="SUCCEEDED")  # the end of a run podtask finished
        assert not (small_home / RESERVE_NAME).exists()
    with RunStore.in_home(small_home) as store:
        assert store.get("r-1").phase == "SUCCEEDED"
