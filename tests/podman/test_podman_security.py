"""podman: a subPath stays inside its volume (CVE-2017-1002101), through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from podtask.engines.podman import guardian, subpaths
from podtask.engines.podman.manifest import PodmanPod, SubPathMount
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


# -- the subPath handed to podman is a staging bind, never a path inside the volume --

STAGED_TASK = """
import time
from pathlib import Path

import podtask

FLAGS = "@FLAGS@"


@podtask.task(
    pod=podtask.Pod(
        spec={
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "flags", "hostPath": {"path": FLAGS}},
            ],
            "containers": [
                {
                    "name": "primary",
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/sub", "subPath": "deep/er"},
                        {"name": "data", "mountPath": "/whole"},
                        {"name": "flags", "mountPath": FLAGS},
                    ],
                }
            ],
        },
        primary_container="primary",
    )
)
def staged() -> str:
    Path("/sub/through-the-sub-path").write_text("x")
    (Path(FLAGS) / "running").touch()
    while not (Path(FLAGS) / "go").exists():
        time.sleep(0.02)
    return Path("/whole/deep/er/through-the-sub-path").read_text()
"""


def _mount_points(fragment: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if fragment in line.split()[4]]


def _start_staged(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    flags = tmp_path / "flags"
    flags.mkdir()
    task = tmp_path / "staged.py"
    task.write_text(STAGED_TASK.replace("@FLAGS@", str(flags)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "run", str(task), "--engine", "podman", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    end = time.monotonic() + 120
    while not (flags / "running").exists():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            raise AssertionError(proc.communicate())
        time.sleep(0.05)
    return proc, flags


def _primary_mounts(flags: Path) -> tuple[str, dict[str, str]]:
    """The run id and (destination -> host source) of this test's running primary, per podman."""
    names = subprocess.run(
        ["podman", "ps", "--filter", "label=podtask.io/task=staged", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        out = subprocess.run(
            ["podman", "container", "inspect", name, "--format", "{{json .Mounts}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        mounts = {m["Destination"]: m["Source"] for m in json.loads(out)}
        if mounts.get(str(flags)) == str(flags):
            label = subprocess.run(
                [
                    "podman",
                    "container",
                    "inspect",
                    name,
                    "--format",
                    '{{index .Config.Labels "podtask.io/run-id"}}',
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            return label, mounts
    raise AssertionError(f"no running primary of this test among {names}")


def test_podman_binds_the_staged_sub_path_and_teardown_unmounts_it(tmp_path: Path) -> None:
    proc, flags = _start_staged(tmp_path)
    try:
        _, sources = _primary_mounts(flags)
        staging = sources["/sub"]
        # podman got podtask's staging path, not <volume>/deep/er, and it is a live bind.
        assert f"{os.sep}subpaths{os.sep}" in staging, sources
        assert not staging.startswith(sources["/whole"]), sources
        assert staging in _mount_points("/subpaths/"), _mount_points("/subpaths/")
        assert os.path.exists(os.path.join(staging, "through-the-sub-path"))
    finally:
        (flags / "go").touch()
        out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert json.loads(out)["outputs"] == {"o0": "x"}
    assert _mount_points(staging) == [], "the staging bind outlived the run"
    assert not os.path.exists(staging)


def test_kill_9_of_podtask_leaves_no_staging_mount(tmp_path: Path) -> None:
    proc, flags = _start_staged(tmp_path)
    run_id, sources = _primary_mounts(flags)
    staging = sources["/sub"]
    assert staging in _mount_points("/subpaths/")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    # The guardian notices podtask died: pod removed, bind unmounted, then the work dir.
    end = time.monotonic() + 120
    while _mount_points(staging) or os.path.exists(staging):
        assert time.monotonic() < end, _mount_points(staging)
        time.sleep(0.1)
    assert podman_leftovers(f"podtask.io/run-id={run_id}") == ""


def test_a_swap_after_the_bind_does_not_move_the_mount(tmp_path: Path) -> None:
    """The race podman alone loses: a path component replaced by a symlink after the check."""
    volume = tmp_path / "volume"
    (volume / "a" / "b").mkdir(parents=True)
    host = tmp_path / "host"
    host.mkdir()
    staging = str(tmp_path / "work" / "subpaths" / "data-sub1")
    m = SubPathMount("primary", "data", "/sub", str(volume), "a/b", staging)
    pp = PodmanPod(
        pod_name="p", manifest={}, containers=(), host_dirs=(), images=(), sub_paths=(m,)
    )
    subpaths.stage(pp)
    assert subpaths.bind(pp, "primary") is None
    try:
        # Another container swaps /data/a for a link to the host between check and use.
        os.rename(volume / "a", volume / "a-old")
        os.symlink(host, volume / "a")
        Path(staging, "written").write_text("x")
        assert (volume / "a-old" / "b" / "written").read_text() == "x"
        assert list(host.iterdir()) == []
        # And a subPath that leads out at bind time is refused, by mount name.
        why = subpaths.bind(pp, "primary")
        assert why is not None and "subPath 'a/b'" in why and "volumeMount 'data'" in why
    finally:
        assert guardian.unmount_below(str(tmp_path / "work"))
    assert _mount_points(str(tmp_path)) == []
