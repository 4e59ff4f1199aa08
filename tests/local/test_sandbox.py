"""Real pods through PodSandbox: namespaces, mounts, signals, probes, OOM, no orphans.

Everything here starts real processes; the isolated tests need root and
Linux namespaces and are skipped with the reason otherwise. Every test runs
twice: with podinit forked from the test process ("warm") and exec'ed as a
new interpreter ("exec"); see also test_sandbox_warm.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podtask._errors import InfrastructureError
from podtask.engines.local.cgroups import cgroups_available, find_memory_cgroups
from podtask.engines.local.linux import namespaces_available
from podtask.engines.local.plan import ContainerPlan, MountPlan, PodPlan, VolumePlan
from podtask.engines.local.sandbox import WARM_ENV, Event, PodSandbox

HERE = Path(__file__).resolve().parent
PATH = "/usr/local/bin:/usr/bin:/bin"
PY = sys.executable

_NS_REASON = namespaces_available()
needs_ns = pytest.mark.skipif(_NS_REASON is not None, reason=str(_NS_REASON))
_CG_REASON = cgroups_available()


def ctr(name: str, argv: list[str], tmp: Path, **kw: Any) -> ContainerPlan:
    env = kw.pop("env", (("PATH", PATH),))
    return ContainerPlan(
        name=name, argv=tuple(argv), env=env, log_path=str(tmp / f"{name}.log"), **kw
    )


def plan(
    tmp: Path,
    *containers: ContainerPlan,
    volumes: tuple[VolumePlan, ...] = (),
    isolate: bool = True,
) -> PodPlan:
    return PodPlan(
        run_id="r1",
        pod_name=f"pod-{uuid.uuid4().hex[:6]}",
        namespace="default",
        work_dir=str(tmp / "work"),
        volumes=volumes,
        containers=containers,
        isolate=isolate,
    )


_seen: dict[int, list[Event]] = {}


def until(sb: PodSandbox, name: str, kinds: tuple[str, ...], timeout: float = 10) -> Event:
    """The first not yet consumed event of ``name`` with one of ``kinds`` (others are kept)."""
    seen = _seen.setdefault(id(sb), [])
    deadline = time.monotonic() + timeout
    while True:
        for ev in seen:
            if ev.name == name and ev.kind in kinds:
                seen.remove(ev)
                return ev
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kinds} event for {name} within {timeout}s: {seen}")
        got = sb.next_event(left)
        if got is not None:
            assert got.kind != "lost", got
            seen.append(got)


def finish(sb: PodSandbox, name: str, timeout: float = 10) -> Event:
    return until(sb, name, ("exited", "error"), timeout)


def log(tmp: Path, name: str) -> str:
    return (tmp / f"{name}.log").read_text()


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@pytest.fixture(autouse=True, params=["warm", "exec"])
def start_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with warm (forked) and with exec'ed podinits; check each start got it."""
    mode = str(request.param)
    monkeypatch.setenv(WARM_ENV, "1" if mode == "warm" else "0")  # also for holder processes
    real = PodSandbox.start.__func__  # type: ignore[attr-defined]

    def start(cls: type[PodSandbox], p: PodPlan, **kw: Any) -> PodSandbox:
        sb: PodSandbox = real(cls, p, **kw)
        assert sb.warm is (mode == "warm")
        return sb

    monkeypatch.setattr(PodSandbox, "start", classmethod(start))
    return mode


# ----------------------------------------------------------------------------- isolated


@needs_ns
def test_sidecar_and_primary_share_memory_emptydir_without_touching_host(tmp: Path) -> None:
    assert not os.path.exists("/data")
    marker = f"/etc/podtask-test-marker-{uuid.uuid4().hex}"
    shared = VolumePlan(
        name="shared",
        kind="emptyDir",
        host_path=str(tmp / "work/v/shared"),
        medium="Memory",
        size_limit_bytes=16 << 20,
    )
    m = (MountPlan("shared", "/data"),)
    side = ctr(
        "side", ["sh", "-c", f"echo hello > /data/x; echo m > {marker}; sleep 1000"], tmp, mounts=m
    )
    main = ctr(
        "main",
        ["sh", "-c", "while [ ! -f /data/x ]; do sleep 0.01; done; cat /data/x"],
        tmp,
        mounts=m,
    )
    t0 = time.perf_counter()
    with PodSandbox.start(plan(tmp, side, main, volumes=(shared,))) as sb:
        t1 = time.perf_counter()
        sb.start_container("side")
        sb.start_container("main")
        ev = finish(sb, "main")
        t2 = time.perf_counter()
        assert (ev.kind, ev.exit_code, ev.signal, ev.oom) == ("exited", 0, None, False)
        assert log(tmp, "main") == "hello\n"
        assert sb.exec("side", ["cat", marker], 5) == (0, "m\n")
        # the tmpfs lives only in the pod's mount namespace
        assert os.listdir(tmp / "work/v/shared") == []
    print(f"start {t1 - t0:.3f}s, two containers to primary exit {t2 - t1:.3f}s")
    assert not os.path.exists("/data")
    assert not os.path.exists(marker)
    assert not (tmp / "work").exists()


@needs_ns
def test_readonly_subpath_hostpath_and_working_dir(tmp: Path) -> None:
    host_dir = tmp / "hostdir"
    host_dir.mkdir()
    (host_dir / "given.txt").write_text("from host")
    vols = (
        VolumePlan(name="hp", kind="hostPath", host_path=str(host_dir)),
        VolumePlan(name="ed", kind="emptyDir", host_path=str(tmp / "work/v/ed")),
    )
    script = textwrap.dedent("""
        cat /host/given.txt; echo
        echo written > /host/new.txt
        if (echo x > /ro/nope) 2>/dev/null; then echo RO-WRITABLE; else echo ro-ok; fi
        echo sub > /sub/file
        pwd
    """)
    c = ctr(
        "c",
        ["sh", "-c", script],
        tmp,
        working_dir="/work/dir/here",
        mounts=(
            MountPlan("hp", "/host"),
            MountPlan("hp", "/ro", read_only=True),
            MountPlan("ed", "/sub", sub_path="a/b"),
        ),
    )
    with PodSandbox.start(plan(tmp, c, volumes=vols)) as sb:
        sb.start_container("c")
        assert finish(sb, "c").exit_code == 0
        assert (tmp / "work/v/ed/a/b/file").read_text() == "sub\n"
    assert log(tmp, "c").split() == ["from", "host", "ro-ok", "/work/dir/here"]
    assert (host_dir / "new.txt").read_text() == "written\n"
    assert not (host_dir / "nope").exists()
    assert not os.path.exists("/work/dir/here")


SERVER = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.bind(("127.0.0.1", 47123)); s.listen()
    print("bound", flush=True)
    c, _ = s.accept(); c.sendall(b"pong"); c.close()
    import time; time.sleep(1000)
""")
CLIENT = textwrap.dedent("""
    import socket, time
    for _ in range(500):
        try:
            c = socket.create_connection(("127.0.0.1", 47123)); break
        except OSError:
            time.sleep(0.01)
    print(c.recv(10).decode())
""")


@needs_ns
def test_two_pods_bind_same_port_and_loopback_works_inside_a_pod(tmp: Path) -> None:
    pods = []
    try:
        for i in range(2):
            d = tmp / f"p{i}"
            d.mkdir()
            server = ctr("server", [PY, "-c", SERVER], d)
            client = ctr("client", [PY, "-c", CLIENT], d)
            pods.append((d, PodSandbox.start(plan(d, server, client))))
        for _, sb in pods:
            sb.start_container("server")
            sb.start_container("client")
        for d, sb in pods:
            assert finish(sb, "client").exit_code == 0
            assert log(d, "client") == "pong\n"
            assert log(d, "server") == "bound\n"
            ok, msg = sb.probe("server", {"tcpSocket": {"port": 47123}}, 2)
            assert ok, msg
            ok, msg = sb.probe("server", {"tcpSocket": {"port": 47124}}, 2)
            assert not ok and "47124" in msg
    finally:
        for _, sb in pods:
            sb.close()


@needs_ns
def test_signals_and_exit_codes(tmp: Path) -> None:
    cs = (
        ctr("sleeper", ["sleep", "1000"], tmp),
        ctr("stubborn", ["sh", "-c", 'trap "" TERM; echo trapped; sleep 1000'], tmp),
        ctr("three", ["sh", "-c", "exit 3"], tmp),
        ctr("usr1", ["sh", "-c", "kill -USR1 $$"], tmp),
        ctr("missing", ["no-such-binary-podtask", "x"], tmp),
    )
    with PodSandbox.start(plan(tmp, *cs)) as sb:
        for c in cs:
            sb.start_container(c.name)
        assert until(sb, "sleeper", ("started",)).pid
        t = time.monotonic()
        sb.signal("sleeper", signal.SIGTERM)
        ev = finish(sb, "sleeper")
        assert (ev.exit_code, ev.signal) == (143, signal.SIGTERM)
        assert time.monotonic() - t < 1
        until(sb, "stubborn", ("started",))
        for _ in range(200):
            if "trapped" in log(tmp, "stubborn"):
                break
            time.sleep(0.01)
        sb.signal("stubborn", signal.SIGTERM)
        time.sleep(0.3)
        assert sb.exec("stubborn", ["true"], 5)[0] == 0  # still alive after SIGTERM
        sb.signal("stubborn", signal.SIGKILL)
        ev = finish(sb, "stubborn")
        assert (ev.exit_code, ev.signal) == (137, signal.SIGKILL)
        ev = finish(sb, "three")
        assert (ev.kind, ev.exit_code, ev.signal) == ("exited", 3, None)
        ev = finish(sb, "usr1")
        assert (ev.exit_code, ev.signal) == (128 + signal.SIGUSR1, signal.SIGUSR1)
        ev = finish(sb, "missing")
        assert (ev.kind, ev.reason, ev.exit_code) == ("error", "StartError", 128)
        assert "executable file not found" in ev.message


@needs_ns
@pytest.mark.skipif(_CG_REASON is not None, reason=str(_CG_REASON))
def test_memory_limit_oom_and_cleanup(tmp: Path) -> None:
    hog = ctr("hog", [PY, "-c", "a = b'x' * (400 << 20)"], tmp, memory_limit_bytes=64 << 20)
    fine = ctr("fine", ["true"], tmp, memory_limit_bytes=64 << 20)
    p = plan(tmp, hog, fine)
    with PodSandbox.start(p) as sb:
        sb.start_container("hog")
        ev = finish(sb, "hog")
        assert (ev.signal, ev.oom) == (signal.SIGKILL, True)
        sb.start_container("fine")
        ev = finish(sb, "fine")
        assert (ev.exit_code, ev.oom) == (0, False)
    parent = find_memory_cgroups().parent
    mine = [e for e in os.listdir(parent)] if os.path.isdir(parent) else []
    assert not [e for e in mine if e.startswith(f"{os.getpid()}-")]
    assert not Path(p.work_dir).exists()


HTTP = "import http.server as h; h.test(h.SimpleHTTPRequestHandler, port=47200, bind='127.0.0.1')"


@needs_ns
def test_probes_and_exec(tmp: Path) -> None:
    web = ctr(
        "web",
        [PY, "-c", HTTP],
        tmp,
        working_dir="/srv/www",
        env=(("PATH", PATH), ("GREETING", "hi there")),
    )
    with PodSandbox.start(plan(tmp, web)) as sb:
        sb.start_container("web")
        until(sb, "web", ("started",))
        assert sb.exec("web", ["sh", "-c", "echo ok > index.html"], 5)[0] == 0
        for _ in range(300):
            ok, msg = sb.probe("web", {"httpGet": {"path": "/index.html", "port": 47200}}, 1)
            if ok:
                break
            time.sleep(0.02)
        assert ok, msg
        ok, msg = sb.probe("web", {"httpGet": {"path": "/missing", "port": 47200}}, 1)
        assert not ok and "404" in msg
        assert sb.probe("web", {"exec": {"command": ["test", "-f", "index.html"]}}, 2) == (
            True,
            "",
        )
        ok, _ = sb.probe("web", {"exec": {"command": ["sh", "-c", "exit 1"]}}, 2)
        assert not ok
        code, out = sb.exec("web", ["sh", "-c", 'echo "$GREETING"; pwd; echo err >&2; exit 4'], 5)
        assert (code, out) == (4, "hi there\n/srv/www\nerr\n")
        code, out = sb.exec("web", ["sleep", "5"], 0.2)
        assert code == 137 and "timed out" in out
        assert sb.exec("web", ["no-such-binary-podtask"], 2)[0] == 127
        sb.signal("web", signal.SIGKILL)
        finish(sb, "web")
        with pytest.raises(InfrastructureError):
            sb.exec("web", ["true"], 2)
        assert sb.probe("web", {"exec": {"command": ["true"]}}, 2)[0] is False


@needs_ns
def test_fork_entrypoint_runs_module_main_in_the_container(
    tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    vol = (VolumePlan(name="d", kind="emptyDir", host_path=str(tmp / "work/v/d"), medium="Memory"),)
    m = (MountPlan("d", "/data"),)
    side = ctr("side", ["sh", "-c", "echo hello > /data/from-sidecar; sleep 1000"], tmp, mounts=m)
    env = (("PATH", PATH), ("MSG", "from-env"))
    prim = ctr(
        "primary",
        [PY, "-m", "sandbox_entry", "7", "x"],
        tmp,
        mounts=m,
        env=env,
        working_dir="/opt/podtask-wd",
        fork_entrypoint=True,
    )
    bad = ctr(
        "bad", [PY, "-m", "sandbox_entry", "raise"], tmp, mounts=m, env=env, fork_entrypoint=True
    )
    with PodSandbox.start(plan(tmp, side, prim, bad, volumes=vol)) as sb:
        sb.start_container("side")
        until(sb, "side", ("started",))
        while not sb.probe("side", {"exec": {"command": ["test", "-f", "/data/from-sidecar"]}}, 2)[
            0
        ]:
            time.sleep(0.01)
        t = time.perf_counter()
        sb.start_container("primary")
        ev = finish(sb, "primary")
        print(f"fork_entrypoint start-to-exit {time.perf_counter() - t:.4f}s")
        assert (ev.kind, ev.exit_code) == ("exited", 7)
        assert sb.exec("side", ["cat", "/data/from-primary"], 5) == (0, "done")
        sb.start_container("bad")
        assert finish(sb, "bad").exit_code == 1
    out = log(tmp, "primary")
    assert "argv=['7', 'x'] cwd=/opt/podtask-wd MSG=from-env HOME=None" in out
    assert "shared=hello sysargv=['sandbox_entry', '7', 'x']" in out
    assert "RuntimeError: boom from the entrypoint" in log(tmp, "bad")
    assert not os.path.exists("/opt/podtask-wd")


def test_start_failure_raises_and_cleans_up(tmp: Path) -> None:
    bad = VolumePlan(name="x", kind="emptyDir", host_path="/proc/podtask-nope/x")
    p = plan(tmp, ctr("c", ["true"], tmp), volumes=(bad,), isolate=_NS_REASON is None)
    with pytest.raises(InfrastructureError, match="failed to start"):
        PodSandbox.start(p)
    assert not Path(p.work_dir).exists()


KILLED_HOLDER = textwrap.dedent("""
    import sys, time
    from podtask.engines.local.plan import ContainerPlan, PodPlan
    from podtask.engines.local.sandbox import PodSandbox
    tmp, marker, isolate = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    cs = tuple(
        ContainerPlan(name=f"c{i}", argv=("sh", "-c", f"sleep 1000; : {marker}"),
                      env=(("PATH", "/usr/bin:/bin"),), log_path=f"{tmp}/c{i}.log")
        for i in range(2)
    )
    sb = PodSandbox.start(PodPlan(run_id="r", pod_name="k", namespace="d",
                                  work_dir=f"{tmp}/work", containers=cs, isolate=isolate))
    for c in cs:
        sb.start_container(c.name)
        assert sb.next_event(10).kind == "started"
    print(sb._proc.pid, sb._podinit_pid, flush=True)
    time.sleep(1000)
""")


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


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize(
    "isolate",
    [pytest.param(True, marks=needs_ns), False],
    ids=["isolated", "plain"],
)
def test_kill_9_of_the_holder_leaves_no_process(tmp: Path, isolate: bool) -> None:
    marker = f"podtask-orphan-check-{uuid.uuid4().hex}"
    holder = subprocess.Popen(
        [PY, "-c", KILLED_HOLDER, str(tmp), marker, "1" if isolate else "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        pids = [int(x) for x in holder.stdout.readline().split()]
        mains = _children(pids[1])  # podinit's children: the containers' main processes
        assert len(mains) == 2, mains
        assert set(mains) <= set(_marked(marker))
        deadline = time.monotonic() + 5
        while not all(_children(m) for m in mains) and time.monotonic() < deadline:
            time.sleep(0.01)
        kids = [k for m in mains for k in _children(m)]  # the shells' `sleep`s
        assert len(kids) == 2
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        # Not isolated, only each container's main process is guaranteed to die.
        watched = pids + mains + (kids if isolate else [])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (any(_alive(p) for p in watched) or _marked(marker)):
            time.sleep(0.02)
        assert not [p for p in watched if _alive(p)]
        assert not _marked(marker)
        if _CG_REASON is None:  # the next podtask removes the dead one's cgroups (and processes)
            cg = find_memory_cgroups()
            cg.sweep_stale()
            assert not [e for e in os.listdir(cg.parent) if e.startswith(f"{holder.pid}-")]
            for k in kids:
                assert not _alive(k)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_plain_mode_runs_processes_with_env_cwd_and_signals(tmp: Path) -> None:
    wd = tmp / "wd"
    wd.mkdir()
    cs = (
        ctr(
            "show",
            ["sh", "-c", "pwd; echo $FOO"],
            tmp,
            working_dir=str(wd),
            env=(("PATH", PATH), ("FOO", "bar")),
        ),
        ctr("sleeper", ["sh", "-c", "sleep 1000"], tmp),
    )
    p = plan(tmp, *cs, isolate=False)
    with PodSandbox.start(p) as sb:
        assert not sb.isolated
        sb.start_container("show")
        assert finish(sb, "show").exit_code == 0
        sb.start_container("sleeper")
        until(sb, "sleeper", ("started",))
        sb.signal("sleeper", signal.SIGTERM)
        assert finish(sb, "sleeper").signal == signal.SIGTERM
    assert log(tmp, "show") == f"{wd}\nbar\n"
    assert not Path(p.work_dir).exists()
