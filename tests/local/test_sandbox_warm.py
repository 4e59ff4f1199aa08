"""The warm start of a pod: podinit forked from the caller instead of a new interpreter.

test_sandbox.py runs every pod test with both starts; these tests are about
what only the fork can get wrong: is it really warm, does the caller stay
untouched (its threads, atexit handlers, buffered output, PID namespace), does
Ctrl-C stay out of the pod, does ``kill -9`` and ``close()`` leave nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from podtask.engines.local.cgroups import cgroups_available, find_memory_cgroups
from podtask.engines.local.linux import namespaces_available
from podtask.engines.local.plan import ContainerPlan, MountPlan, PodPlan, VolumePlan
from podtask.engines.local.sandbox import WARM_ENV, PodSandbox, warm_fork_problem

HERE = Path(__file__).resolve().parent
PATH = "/usr/local/bin:/usr/bin:/bin"
PY = sys.executable
_NS_REASON = namespaces_available()
_CG_REASON = cgroups_available()
ISOLATE = [pytest.param(True, id="isolated"), pytest.param(False, id="plain")]
if _NS_REASON is not None:
    ISOLATE[0] = pytest.param(True, id="isolated", marks=pytest.mark.skip(reason=_NS_REASON))


@pytest.fixture(autouse=True)
def _warm_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WARM_ENV, raising=False)


def ctr(name: str, argv: list[str], tmp: Path, **kw: object) -> ContainerPlan:
    return ContainerPlan(
        name=name,
        argv=tuple(argv),
        env=(("PATH", PATH),),
        log_path=str(tmp / f"{name}.log"),
        **kw,  # type: ignore[arg-type]
    )


def plan(tmp: Path, *cs: ContainerPlan, isolate: bool = True, **kw: object) -> PodPlan:
    return PodPlan(
        run_id="r",
        pod_name=f"warm-{uuid.uuid4().hex[:6]}",
        namespace="default",
        work_dir=str(tmp / "work"),
        containers=cs,
        isolate=isolate,
        **kw,  # type: ignore[arg-type]
    )


def finish(sb: PodSandbox, name: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = sb.next_event(0.1)
        assert ev is None or ev.kind != "lost", ev
        if ev is not None and ev.name == name and ev.kind in ("exited", "error"):
            assert (ev.kind, ev.exit_code) == ("exited", 0), (ev, sb.log_tail())
            return
    raise AssertionError(f"{name} did not finish")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def marker_module() -> Iterator[str]:
    """A module that exists only in this process's sys.modules: no file to import it from."""
    name = f"podtask_warm_marker_{uuid.uuid4().hex[:8]}"
    mod = types.ModuleType(name)
    mod.TOKEN = uuid.uuid4().hex  # type: ignore[attr-defined]
    sys.modules[name] = mod
    yield name
    del sys.modules[name]


@pytest.mark.parametrize("isolate", ISOLATE)
def test_the_primary_finds_the_callers_modules_already_imported(
    tmp_path: Path, marker_module: str, monkeypatch: pytest.MonkeyPatch, isolate: bool
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    import warm_entry  # noqa: F401  # the caller has imported the entrypoint module too

    assert warm_fork_problem() is None
    prim = ctr(
        "primary",
        [PY, "-m", "warm_entry", marker_module],
        tmp_path,
        fork_entrypoint=True,
        working_dir="/" if isolate else str(tmp_path),
    )
    t = time.perf_counter()
    with PodSandbox.start(plan(tmp_path, prim, isolate=isolate)) as sb:
        started = time.perf_counter() - t
        assert sb.warm
        assert sb._podinit_pid == sb._proc.pid
        with open(f"/proc/{sb._proc.pid}/stat") as fh:  # podinit is our own child
            assert int(fh.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
        sb.start_container("primary")
        finish(sb, "primary")
    print(f"warm start {started:.4f}s")
    out = (tmp_path / "primary.log").read_text()
    token = sys.modules[marker_module].TOKEN  # type: ignore[attr-defined]
    assert f"token={token}" in out, out
    assert "sigint=<Handlers.SIG_DFL: 0> sigterm=<Handlers.SIG_DFL: 0>" in out, out
    # the caller's PID namespace for children is its own again
    assert os.readlink("/proc/self/ns/pid_for_children") == os.readlink("/proc/self/ns/pid")
    assert not (tmp_path / "work").exists()


def test_another_thread_means_exec(tmp_path: Path) -> None:
    stop = threading.Event()
    th = threading.Thread(target=stop.wait, name="some-user-thread")
    th.start()
    try:
        assert "some-user-thread" in (warm_fork_problem() or "")
        for warm in (None, True):
            with PodSandbox.start(
                plan(tmp_path, ctr("c", ["true"], tmp_path), isolate=False), warm=warm
            ) as sb:
                assert not sb.warm
                sb.start_container("c")
                finish(sb, "c")
    finally:
        stop.set()
        th.join()
    with PodSandbox.start(plan(tmp_path, ctr("c", ["true"], tmp_path), isolate=False)) as sb:
        assert sb.warm
        with PodSandbox.start(plan(tmp_path / "2", ctr("c", ["true"], tmp_path))) as sb2:
            assert sb2.warm  # the first sandbox's reader thread does not count
        with PodSandbox.start(
            plan(tmp_path / "3", ctr("c", ["true"], tmp_path)), warm=False
        ) as sb3:
            assert not sb3.warm


# The caller is a CLI-like process: its own Ctrl-C handler, an atexit handler, an
# open file it flushes at exit, buffered stdout. The child must inherit none of it.
HOLDER = textwrap.dedent("""
    import atexit, json, os, signal, sys, time
    from podtask.engines.local.plan import ContainerPlan, PodPlan
    from podtask.engines.local.sandbox import PodSandbox
    tmp, marker, isolate = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    got = []
    signal.signal(signal.SIGINT, lambda *a: got.append("INT"))
    signal.signal(signal.SIGTERM, lambda *a: got.append("TERM"))
    pending = open(f"{tmp}/pending.txt", "w")
    pending.write(f"written once by {os.getpid()}\\n")  # buffered, flushed at exit
    atexit.register(lambda: open(f"{tmp}/atexit.txt", "a").write(f"{os.getpid()}\\n"))
    sys.stdout.write("buffered-before-start\\n")  # not flushed: stdout is a pipe
    cs = (
        ContainerPlan(name="sleeper", argv=("sh", "-c", f"sleep 1000; : {marker}"),
                      env=(("PATH", "/usr/bin:/bin"),), log_path=f"{tmp}/sleeper.log"),
        ContainerPlan(name="py", argv=(sys.executable, "-m", "warm_entry", "none", "wait"),
                      env=(("PATH", "/usr/bin:/bin"),), log_path=f"{tmp}/py.log",
                      fork_entrypoint=True),
    )
    sb = PodSandbox.start(PodPlan(run_id="r", pod_name="h", namespace="d",
                                  work_dir=f"{tmp}/work", containers=cs, isolate=isolate))
    assert sb.warm
    pids = {}
    for c in cs:
        sb.start_container(c.name)
        ev = sb.next_event(10)
        assert ev.kind == "started", (ev, sb.log_tail())
        pids[ev.name] = ev.pid
    for _ in range(500):  # until the Python container is in signal.pause()
        if "sigint=" in open(f"{tmp}/py.log").read():
            break
        time.sleep(0.01)
    print(json.dumps({"podinit": sb._proc.pid, "sid": os.getsid(sb._proc.pid)}), flush=True)
    if sys.stdin.readline().strip() == "kill-me":
        time.sleep(1000)
    time.sleep(0.5)  # time for a stray SIGINT to arrive and kill the containers
    ev = sb.next_event(0)
    alive = sb.exec("sleeper", ["true"], 5)[0] == 0
    sb.close()
    print(json.dumps({"got": got, "event": ev and ev.kind, "alive": alive}), flush=True)
""")


def _holder(tmp: Path, marker: str, isolate: bool) -> subprocess.Popen[str]:
    """The holder's stdout: buffered-before-start (flushed before the fork), then JSON lines."""
    return subprocess.Popen(
        [PY, "-c", HOLDER, str(tmp), marker, "1" if isolate else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )


def _reap(holder: subprocess.Popen[str]) -> None:
    if holder.poll() is None:
        holder.kill()
        holder.wait()
    for f in (holder.stdin, holder.stdout):
        if f is not None:
            f.close()


@pytest.mark.parametrize("isolate", ISOLATE)
def test_ctrl_c_to_the_callers_group_does_not_reach_the_pod(tmp_path: Path, isolate: bool) -> None:
    holder = _holder(tmp_path, f"warm-int-{uuid.uuid4().hex}", isolate)
    try:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline() == "buffered-before-start\n"
        info = json.loads(holder.stdout.readline())
        assert info["sid"] != holder.pid  # podinit runs in a session of its own
        os.killpg(holder.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        holder.stdin.write("go on\n")
        holder.stdin.flush()
        result = json.loads(holder.stdout.readline())
        assert result == {"got": ["INT"], "event": None, "alive": True}
        rest = holder.stdout.read()
        assert holder.wait(10) == 0
    finally:
        _reap(holder)
    # the holder's own exit work ran once, in the holder only
    assert rest == ""
    assert (tmp_path / "atexit.txt").read_text() == f"{holder.pid}\n"
    assert (tmp_path / "pending.txt").read_text() == f"written once by {holder.pid}\n"
    assert not _alive(info["podinit"])
    assert not (tmp_path / "work").exists()


def _marked(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        out += kids
        todo += kids
    return out


@pytest.mark.parametrize("isolate", ISOLATE)
def test_kill_9_of_a_warm_holder_leaves_no_process(tmp_path: Path, isolate: bool) -> None:
    marker = f"warm-kill-{uuid.uuid4().hex}"
    holder = _holder(tmp_path, marker, isolate)
    try:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline() == "buffered-before-start\n"
        info = json.loads(holder.stdout.readline())
        podinit = info["podinit"]
        deadline = time.monotonic() + 5
        procs = [podinit, *_descendants(podinit)]
        while len(procs) < 4 and time.monotonic() < deadline:  # sh may not have forked sleep yet
            time.sleep(0.01)
            procs = [podinit, *_descendants(podinit)]
        assert len(procs) == 4, procs  # podinit, sleeper's sh and its sleep, the python container
        assert _marked(marker)
        holder.stdin.write("kill-me\n")
        holder.stdin.flush()
        time.sleep(0.1)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 5
        # Not isolated, only podinit and each container's main process are sure to die.
        watched = procs if isolate else [podinit, *_children(podinit)]
        while time.monotonic() < deadline and (any(_alive(p) for p in watched) or _marked(marker)):
            time.sleep(0.02)
        assert not [p for p in watched if _alive(p)]
        assert not _marked(marker)
    finally:
        _reap(holder)


@pytest.mark.skipif(_NS_REASON is not None, reason=str(_NS_REASON))
def test_close_leaves_no_temp_dir_cgroup_or_zombie(tmp_path: Path) -> None:
    vol = VolumePlan(
        name="d", kind="emptyDir", host_path=str(tmp_path / "work/v/d"), medium="Memory"
    )
    m = (MountPlan("d", "/data"),)
    limit = None if _CG_REASON else 64 << 20
    cs = (
        ctr(
            "side",
            ["sh", "-c", "echo hi > /data/x; sleep 1000"],
            tmp_path,
            mounts=m,
            memory_limit_bytes=limit,
        ),
        ctr(
            "main",
            ["sh", "-c", "while [ ! -f /data/x ]; do sleep 0.01; done; cat /data/x"],
            tmp_path,
            mounts=m,
            memory_limit_bytes=limit,
        ),
    )
    p = plan(tmp_path, *cs, volumes=(vol,))
    sb = PodSandbox.start(p)
    assert sb.warm
    podinit = sb._proc.pid
    sb.start_container("side")
    sb.start_container("main")
    finish(sb, "main")
    assert (tmp_path / "main.log").read_text() == "hi\n"
    inside = _descendants(podinit)
    assert inside  # the sidecar is still running
    sb.close()
    sb.close()  # idempotent
    assert not Path(p.work_dir).exists()
    assert not _alive(podinit) and not any(_alive(q) for q in inside)
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(podinit, os.WNOHANG)
    if _CG_REASON is None:
        parent = find_memory_cgroups().parent
        left = os.listdir(parent) if os.path.isdir(parent) else []
        assert not [e for e in left if e.startswith(f"{os.getpid()}-")]
