"""podman: a subPath stays inside its volume (CVE-2017-1002101), through the real CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import podman_leftovers, podman_problem
from tests.local.cli_helpers import run_task

PROBLEM = podman_problem()

pytestmark = [pytest.mark.podman, pytest.mark.skipif(bool(PROBLEM), reason=str(PROBLEM))]


def run(task: str, hostdir: Path) -> tuple[int, dict[str, Any], str]:
    return run_task(task, "--engine", "podman", hostdir=hostdir)


def test_sub_path_symlink_out_of_the_volume_fails_and_writes_nothing_on_the_host(
    tmp_path: Path,
) -> None:
    hostdir = tmp_path / "host-dir"
    hostdir.mkdir()
    rc, doc, err = run("sub_path_escape", hostdir)
    assert list(hostdir.iterdir()) == [], "the primary wrote through the symlink onto the host"
    assert rc == 1, err
    assert doc["reason"] == "CreateContainerConfigError"
    message = str(doc["message"])
    assert "subPath 'esc'" in message and "volumeMount 'data'" in message and "/out" in message
    assert podman_leftovers("podtask.io/task=sub-path-escape") == ""


def test_sub_path_symlink_inside_the_volume_is_followed(tmp_path: Path) -> None:
    rc, doc, err = run("sub_path_inside", tmp_path)
    assert rc == 0, err
    assert doc["outputs"] == {"o0": "from the primary"}


def test_termination_messages_are_read_from_the_file_or_the_log_tail(tmp_path: Path) -> None:
    rc, doc, err = run("termination_messages", tmp_path)
    assert rc == 0, err
    containers = doc["containers"]
    assert isinstance(containers, list)
    messages = {c["name"]: c.get("message") for c in containers}
    assert messages["writer"] == "all good\n"
    assert messages["custom"] == "custom path"
    assert messages["fallback"] == "first\nlast words\n"
    assert not messages["fallback-ok"]
    assert podman_leftovers("podtask.io/task=termination-messages") == ""
