"""podinit forks every container's process when the pod is set up, to wait for its start.

What must not change because of it: a container runs only when started, a
second start (a restart) runs it again, and a container never started leaves
no process and no cgroup behind once the pod is closed.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from podtask.engines.local.cgroups import cgroups_available, find_memory_cgroups
from podtask.engines.local.linux import namespaces_available
from podtask.engines.local.plan import ContainerPlan, PodPlan
from podtask.engines.local.sandbox import Event, PodSandbox

PATH = "/usr/local/bin:/usr/bin:/bin"
ISOLATE = [
    pytest.param(
        True,
        id="isolated",
        marks=pytest.mark.skipif(
            namespaces_available() is not None, reason=str(namespaces_available())
        ),
    ),
    pytest.param(False, id="plain"),
]


def _plan(tmp: Path, isolate: bool, *scripts: tuple[str, str]) -> PodPlan:
    containers = tuple(
        ContainerPlan(
            name=name,
            argv=("sh", "-c", script),
            env=(("PATH", PATH),),
            log_path=str(tmp / f"{name}.log"),
        )
        for name, script in scripts
    )
    return PodPlan(
        run_id="r1",
        pod_name=f"pod-{uuid.uuid4().hex[:6]}",
        namespace="default",
        work_dir=str(tmp / "work"),
        volumes=(),
        containers=containers,
        isolate=isolate,
    )


def _events(sb: PodSandbox, until: tuple[str, str], timeout: float = 10) -> list[Event]:
    got: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = sb.next_event(deadline - time.monotonic())
        if ev is None:
            break
        got.append(ev)
        if (ev.kind, ev.name) == until:
            return got
    raise AssertionError(f"no {until} within {timeout}s: {got}")


def _tree(root: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            kids.setdefault(int(stat[stat.rfind(b")") + 2 :].split()[1]), []).append(int(entry))
    found, stack = set(), [root]
    while stack:
        pid = stack.pop()
        found.add(pid)
        stack.extend(kids.get(pid, ()))
    return found


def _alive(pids: set[int]) -> set[int]:
    return {p for p in pids if Path(f"/proc/{p}").exists()}


@pytest.mark.parametrize("isolate", ISOLATE)
def test_only_started_containers_run_and_a_restart_runs_again(
    tmp_path: Path, isolate: bool
) -> None:
    p = _plan(tmp_path, isolate, ("first", "echo run"), ("never", "echo never ran"))
    with PodSandbox.start(p) as sb:
        sb.start_container("first")
        first = _events(sb, ("exited", "first"))
        assert [e.kind for e in first if e.name == "first"] == ["started", "exited"]
        sb.start_container("first")  # a restart
        again = _events(sb, ("exited", "first"))
        assert [e.kind for e in again] == ["started", "exited"]
        assert again[-1].exit_code == 0
        # The prepared process of "never" waits; it has not run the container.
        assert not any(e.name == "never" for e in first + again)
        assert sb.next_event(0.3) is None
    assert (tmp_path / "first.log").read_text() == "run\nrun\n"  # the logs are on the host
    assert not (tmp_path / "never.log").exists()


@pytest.mark.parametrize("isolate", ISOLATE)
def test_a_container_never_started_leaves_nothing_behind(tmp_path: Path, isolate: bool) -> None:
    p = _plan(tmp_path, isolate, ("first", "exit 0"), ("never", "sleep 1000"))
    sb = PodSandbox.start(p)
    try:
        sb.start_container("first")
        _events(sb, ("exited", "first"))
        podinit = sb._podinit_pid
        assert podinit is not None
        pod = _tree(podinit)
        assert len(pod) >= 2, pod  # podinit and the prepared process of "never"
    finally:
        sb.close()
    deadline = time.monotonic() + 10
    while _alive(pod) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _alive(pod) == set()
    assert not os.path.exists(p.work_dir)
    if cgroups_available() is None:
        cg = find_memory_cgroups()
        left = (
            [e for e in os.listdir(cg.parent) if e.startswith(sb._prefix)]
            if os.path.isdir(cg.parent)
            else []
        )
        assert left == []
