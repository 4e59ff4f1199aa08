"""What a podman run records: one clock for the containers' times, and a log per started container.

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
