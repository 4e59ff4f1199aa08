"""What a podman run records: one clock for the times, a log per started container, a full home.

Review item 10: the table took podman's ``inspect`` times while ``ready`` and
``events.jsonl`` took the moments podtask noticed, so a container read "ready"
after it had exited and the two disagreed; and a container that wrote nothing
had no log file, so ``logs`` said no container had started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.conftest import podman_problem
from tests.conftest import EXAMPLES
from tests.storage.test_full_disk import TASKS as FULL_DISK_TASKS
from tests.storage.test_full_disk import small_home  # noqa: F401  # a fixture

PROBLEM = podman_problem()

pytestmark = [pytest.mark.podman, pytest.mark.skipif(bool(PROBLEM), reason=str(PROBLEM))]


def podtask(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podtask", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PODTASK_HOME": str(home)},
    )


@pytest.fixture(scope="module")
def greet_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    """``greet`` on podman: a writer sidecar and the primary, neither printing anything."""
    home = tmp_path_factory.mktemp("podman-records-home")
    greet = ("run", str(EXAMPLES / "typed_example.py"), "greet", "--in1", "p")
    r = podtask(*greet, "--engine", "podman", "--json", home=home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    return doc, Path(doc["run_dir"])


def test_container_times_are_ordered_and_match_the_events(
    greet_run: tuple[dict[str, object], Path],
) -> None:
    doc, run_dir = greet_run
    containers = doc["containers"]
    assert isinstance(containers, list) and {c["name"] for c in containers} == {"primary", "writer"}
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    for c in containers:
        assert c["started_at"] <= c["ready_at"] <= c["finished_at"], c
        started = [
            e["time"] for e in events if e["event"] == "started" and e.get("container") == c["name"]
        ]
        exited = [
            e["time"] for e in events if e["event"] == "exited" and e.get("container") == c["name"]
        ]
        assert started == [c["started_at"]], (c, events)
        assert exited == [c["finished_at"]], (c, events)


def test_logs_of_containers_that_wrote_nothing_say_so(
    greet_run: tuple[dict[str, object], Path],
) -> None:
    doc, run_dir = greet_run
    r = podtask("logs", str(doc["run_id"]), home=run_dir.parent.parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "[primary] (wrote nothing to stdout or stderr)" in r.stderr
    assert "[writer] (wrote nothing to stdout or stderr)" in r.stderr
    assert "no container started" not in r.stderr


@pytest.mark.usefixtures("small_home")
def test_a_log_that_fills_the_home_is_cut_and_the_run_still_recorded() -> None:
    """podman logs outside the home, so the task runs on; only podtask's copy meets the full disk.

    It used to kill the copier and end the run as LOST ("No space left on
    device: None"). Now the run keeps its result, the log what fit, and a
    warning says the logs were cut and where the home is.
    """
    home = Path(os.environ["PODTASK_HOME"])
    r = podtask(
        "run", str(FULL_DISK_TASKS), "flood", "--kib", "2000", "--engine", "podman", "--json",
        home=home,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    doc = json.loads(r.stdout)
    assert doc["phase"] == "SUCCEEDED" and doc["outputs"] == {"o0": 2000}
    assert f"end where the disk filled: PODTASK_HOME {home} is full (" in r.stderr
    listed = json.loads(podtask("runs", "--json", home=home).stdout)
    assert [(x["run_id"], x["phase"]) for x in listed] == [(doc["run_id"], "SUCCEEDED")]
    log = Path(doc["run_dir"]) / "logs" / "primary.log"
    assert 100 * 1024 < log.stat().st_size < 2000 * 1024
