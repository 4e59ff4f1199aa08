"""The podtask-side handle to one pod supervisor (``podinit``).

``PodSandbox.start(plan)`` launches podinit in fresh pid/net/ipc/uts/mount
namespaces (``isolate=True``) or as a plain child process (``isolate=False``)
and from then on talks to it over two pipes (see ``podinit``'s docstring for
the protocol). podinit is started one of two ways:

* warm (the default when it is safe, see :meth:`PodSandbox.start`): podinit is
  a ``fork`` of the calling process, which has already imported podtask and
  the user's task module, so it is ready in a few milliseconds and the
  primary container (``fork_entrypoint``), forked in turn from podinit, finds
  the task module in ``sys.modules``. Isolated, the caller briefly
  ``unshare(CLONE_NEWPID)``s so that its next child is PID 1 of a new PID
  namespace, forks, and at once restores its own PID namespace for later
  children; the child makes its own net/ipc/uts/mount namespaces and mounts a
  /proc of the new PID namespace (what ``unshare --mount-proc`` did). See
  :func:`_fork_podinit` for what the child sheds of the caller.
* exec: ``python -m podtask.engines.local.podinit``, isolated under
  ``unshare --pid --fork --kill-child --mount-proc``, a new interpreter that
  imports everything again (about 0.2-0.4 s more per pod).

What this class guarantees:

* Nothing outlives podtask. podinit is started with ``PR_SET_PDEATHSIG =
  SIGKILL`` and, isolated, is PID 1 of the pod's PID namespace, so a
  ``kill -9`` of podtask kills podinit (warm: directly; exec: through the
  ``unshare`` process), which makes the kernel kill every process of the pod.
  The death signal is tied to the *thread* that called
  :meth:`PodSandbox.start`: call it from a thread that lives as long as the
  pod (the main thread, typically).
* ``close()`` (idempotent, thread-safe, also run at interpreter exit for
  sandboxes still open) SIGKILLs what is left, waits until podinit and with it
  every process of the pod are gone, removes the pod's cgroups and
  ``plan.work_dir``. There is nothing to unmount on the host: every mount
  lives in the pod's mount namespaces and disappears with them.
* Not isolated (``isolate=False``: no namespaces here), containers are plain
  processes in their own process groups with a parent-death signal and
  podinit as their subreaper. A ``kill -9`` of podtask kills podinit and then
  each container's main process, but a process that a container moved to
  another session, or that was exec'ed setuid, can survive; ``close()`` kills
  such processes only if they stayed in the container's memory cgroup.

Threading: one reader thread per sandbox turns podinit's events into
:class:`Event` objects on a queue (:meth:`next_event`) and hands probe/exec
answers to the calling thread, so every method may be called from any thread,
and probes of different containers can run concurrently.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import gc
import itertools
import json
import os
import queue
import select
import shutil
import signal as _signal
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, NoReturn

from podtask._errors import InfrastructureError
from podtask.engines._kubelet.port import RuntimeEvent
from podtask.engines.local import linux
from podtask.engines.local.cgroups import MemoryCgroups, find_memory_cgroups
from podtask.engines.local.plan import PodPlan


def _unshare_flags(plan: PodPlan) -> list[str]:
    """unshare(1)'s flags for the pod: hostNetwork keeps the host's net and UTS, hostIPC its IPC."""
    flags = ["--pid", "--mount"]
    if not plan.host_network:
        flags += ["--net", "--uts"]
    if not plan.host_ipc:
        flags.append("--ipc")
    return [*flags, "--fork", "--kill-child"]


_ALL_UNSHARE_FLAGS = ("--pid", "--mount", "--net", "--uts", "--ipc", "--fork", "--kill-child")
_ALL_NS_FLAGS = linux.CLONE_NEWNS | linux.CLONE_NEWNET | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC


def _namespace_flags(plan: PodPlan) -> int:
    """The namespaces a warm podinit unshares besides PID (see :func:`_unshare_flags`)."""
    flags = linux.CLONE_NEWNS
    if not plan.host_network:
        flags |= linux.CLONE_NEWNET | linux.CLONE_NEWUTS
    if not plan.host_ipc:
        flags |= linux.CLONE_NEWIPC
    return flags


_ANSWER_GRACE = 5.0  # seconds beyond a probe/exec timeout before we give up on podinit
WARM_ENV = "PODTASK_WARM_FORK"  # "0": never fork the caller, always exec a new podinit


@dataclass(frozen=True)
class Event(RuntimeEvent):
    """Something that happened to a container (times are podinit's ``time.time()``).

    ``kind``: ``"started"`` (pid, command, pid1), ``"exited"`` (exit_code,
    signal, oom, and message: the container's termination message, from its
    terminationMessagePath or, with FallbackToLogsOnError, its log tail),
    ``"error"`` (the container never ran: message, reason ``"StartError"`` or
    ``"CreateContainerConfigError"`` (a subPath leading out of its volume),
    exit_code 128), or ``"lost"`` (podinit itself died unexpectedly; ``name``
    is empty, message holds the tail of its log; no further events follow).
    """

    pid: int | None = None  # "started": the container's main process, as seen from here


class _Answer:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: dict[str, Any] = {}


def _preexec(parent_pid: int) -> None:  # runs in the forked child before exec
    linux.set_pdeathsig(_signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


# -------------------------------------------------------------------------- warm fork

# Our own reader threads. They only block in read() on their own sandbox's event
# pipe and touch only their own sandbox's objects, which a forked podinit never
# uses, so they do not make a fork unsafe (see warm_fork_problem).
_fork_safe_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()

# The caller's stdio objects, kept alive in a forked podinit: were they freed,
# they would flush the caller's buffered output into the fds that replace them.
_inherited_stdio: list[object] = []


def warm_fork_problem() -> str | None:
    """None when podinit may be forked from this process, else why not.

    A fork copies only the calling thread; a lock that another thread held at
    that moment stays locked forever in the child. So the caller must be the
    main thread and the only thread, apart from other sandboxes' reader threads
    (known to be harmless, see ``_fork_safe_threads``). Threads that Python does
    not know about (started by C extensions) cannot be seen here.
    ``PODTASK_WARM_FORK=0`` turns warm starts off.
    """
    if os.environ.get(WARM_ENV, "").strip() == "0":
        return f"{WARM_ENV}=0"
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return f"not supported on {sys.platform}"
    me = threading.current_thread()
    if me is not threading.main_thread():
        return "not called from the main thread"
    others = sorted(
        t.name for t in threading.enumerate() if t is not me and t not in _fork_safe_threads
    )
    if others:
        return "other threads are running: " + ", ".join(others)
    return None


class _ForkedProc:
    """The part of ``subprocess.Popen`` that PodSandbox uses, for a forked podinit."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdin: IO[bytes] | None = stdin
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else (SIGCHLD ignored?)
                self.returncode = 255
                return self.returncode
            if pid != 0:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        rc = self.poll()
        if rc is not None:
            return rc
        if timeout is not None:
            try:
                pidfd = os.pidfd_open(self.pid)
            except OSError:
                pidfd = None
            if pidfd is not None:
                try:
                    select.select([pidfd], [], [], timeout)
                finally:
                    os.close(pidfd)
            else:
                deadline = time.monotonic() + timeout
                while self.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.005)
            rc = self.poll()
            if rc is None:
                raise subprocess.TimeoutExpired(f"podinit (pid {self.pid})", timeout)
            return rc
        try:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            self.returncode = 255
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, _signal.SIGKILL)


def _fork_podinit(isolate: bool, log_path: str, ns_flags: int = _ALL_NS_FLAGS) -> _ForkedProc:
    """Fork this process into podinit (isolated: PID 1 of a new PID namespace).

    The caller's pid_for_children is switched to a new PID namespace only
    around the ``fork`` and switched back before this returns (or raises), so
    later children of the caller are unaffected. What the child does to stop
    being the caller is in :func:`_warm_child`.
    """
    import podtask.engines.local.podinit  # noqa: F401  # once here, not once per pod

    cmd_r, cmd_w = os.pipe()  # both ends non-inheritable, as Python makes them
    ev_r, ev_w = os.pipe()
    temp_fds = [cmd_r, ev_w]
    keep_fds = [cmd_w, ev_r]
    try:
        temp_fds.append(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
        for stream in (sys.stdout, sys.stderr):  # nothing buffered can then be written twice
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        parent = os.getpid()
        own_pidns = -1
        if isolate:
            own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            temp_fds.append(own_pidns)
        # Signals blocked from before the unshare until after the fork: no Python
        # signal handler (raising KeyboardInterrupt, say) can run in the child
        # before it is inside _warm_child's try/finally-_exit, nor in the parent
        # while its children would land in the pod's PID namespace.
        old_mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
        unshared = False
        try:
            if isolate:
                linux.unshare(linux.CLONE_NEWPID)  # only our next child moves there
                unshared = True
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                _warm_child(temp_fds[0], temp_fds[1], temp_fds[2], isolate, parent, ns_flags)
        finally:
            try:
                if unshared:
                    linux.setns(own_pidns, linux.CLONE_NEWPID)  # our later children: ours again
            finally:
                _signal.pthread_sigmask(_signal.SIG_SETMASK, old_mask)
    except BaseException:
        for fd in keep_fds:
            os.close(fd)
        raise
    finally:
        for fd in temp_fds:
            os.close(fd)
    return _ForkedProc(pid, os.fdopen(cmd_w, "wb"), os.fdopen(ev_r, "rb"))


def _preload_entrypoints(plan: PodPlan) -> None:
    """Import, here, what the pod's forked entrypoints will import (``preload()``).

    A module first imported inside a container is compiled there and its
    ``.pyc`` lands in the container's overlay, never on the host: every run
    would compile it again. Imported once here, before the fork, it comes from
    the host's bytecode cache, and every pod of this process shares its pages.
    """
    import importlib

    for c in plan.containers:
        if c.fork_entrypoint:
            try:
                preload = getattr(importlib.import_module(c.argv[2]), "preload", None)
                if callable(preload):
                    preload()
            except Exception:  # only a head start: podinit imports it again and says why
                continue


def _warm_child(
    cmd_r: int, ev_w: int, log_fd: int, isolate: bool, parent: int, ns_flags: int
) -> NoReturn:
    """podinit in a fork of the caller; never returns into the caller's stack.

    It ends with ``os._exit`` always, so no atexit handler, finalizer or
    buffered output of the caller runs here (the caller may hold an SQLite
    connection, a click context, open sandboxes). It starts with every signal
    blocked (see :func:`_fork_podinit`). In order: ``gc.freeze()`` (the
    caller's objects, garbage included, are never collected here, so no
    caller finalizer runs), a new session (the terminal's Ctrl-C must not
    reach the pod), every caller signal handler back to its default and the
    signal mask cleared, the parent-death signal, stdio = command pipe / event
    pipe / podinit.log and every other inherited fd closed (the caller's
    SQLite file, other pods' pipes, the terminal), fresh ``sys.std*`` objects
    (the caller's are kept alive, never flushed), then isolated: new
    net/ipc/uts/mount namespaces, ``/`` made private and a /proc of the new
    PID namespace on /proc (what ``unshare --propagation private
    --mount-proc`` did), and finally podinit's ``main()`` as usual.
    """
    code = 1
    try:
        gc.freeze()
        os.setsid()
        _default_signals()
        linux.set_pdeathsig(_signal.SIGKILL)
        linux.set_process_name("podinit")
        # Isolated, getppid() is 0 (our parent is outside our PID namespace); if the
        # caller died before prctl took effect, the command pipe is at EOF and
        # podinit shuts down at once.
        if not isolate and os.getppid() != parent:
            os._exit(1)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (cmd_r, ev_w, log_fd)]
        for target, fd in enumerate(high):
            os.dup2(fd, target)
        os.closerange(3, max(os.sysconf("SC_OPEN_MAX"), 1024))
        _fresh_stdio()
        if isolate:
            linux.unshare(ns_flags | linux.CLONE_NEWNS)
            linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
            linux.mount("proc", "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
        # A new interpreter would have put $PYTHONPATH on sys.path (after the entry
        # of the script's directory, which fork_entrypoint replaces): so do we.
        for entry in reversed(os.environ.get("PYTHONPATH", "").split(os.pathsep)):
            if entry and entry not in sys.path:
                sys.path.insert(1, entry)
        from podtask.engines.local import podinit

        code = podinit.main()
    except BaseException:
        with contextlib.suppress(BaseException):
            os.write(2, ("podinit (warm fork):\n" + traceback.format_exc()).encode())
    finally:
        os._exit(code)


def _default_signals() -> None:
    """Forget the caller's signal handlers (podinit installs its own)."""
    with contextlib.suppress(ValueError, OSError):
        _signal.set_wakeup_fd(-1)
    for sig in _signal.valid_signals():
        with contextlib.suppress(ValueError, OSError):
            if callable(_signal.getsignal(sig)):
                _signal.signal(sig, _signal.SIG_DFL)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, set())


def _fresh_stdio() -> None:
    import io

    _inherited_stdio.extend((sys.stdin, sys.stdout, sys.stderr))
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - fd 0 is the command pipe
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), line_buffering=True, errors="backslashreplace"
    )


def _exec_podinit(
    isolate: bool, log_path: str, flags: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """podinit as a new interpreter; isolated, under ``unshare(1)``."""
    cmd = [sys.executable, "-m", "podtask.engines.local.podinit"]
    if isolate:
        unshare = shutil.which("unshare") or "unshare"
        cmd = [unshare, *flags, "--mount-proc", "--propagation", "private", "--", *cmd]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # the terminal's Ctrl-C must not reach the pod
            preexec_fn=functools.partial(_preexec, os.getpid()),
        )


_open: set[PodSandbox] = set()  # closed at interpreter exit if still open


@atexit.register
def _close_all() -> None:
    for sb in list(_open):
        sb.close()


class PodSandbox:
    """A running pod supervisor; create with :meth:`start`, end with :meth:`close`."""

    def __init__(
        self,
        plan: PodPlan,
        proc: subprocess.Popen[bytes] | _ForkedProc,
        cg: MemoryCgroups | None,
        prefix: str,
        log_path: str,
    ) -> None:
        self.plan = plan
        self.isolated = plan.isolate
        self.warm = isinstance(proc, _ForkedProc)  # podinit is a fork of this process
        self._proc = proc
        self._cg = cg
        self._prefix = prefix
        self._log_path = log_path
        self._events: queue.Queue[Event] = queue.Queue()
        self._answers: dict[int, _Answer] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # guards writes to podinit and _answers
        self._close_lock = threading.Lock()
        self._closed = False
        self._closing = False
        self._ready = threading.Event()
        self._ready_msg: str | None = None
        self._podinit_pid: int | None = None
        self._reader = threading.Thread(target=self._read_loop, name="podinit-reader", daemon=True)
        _fork_safe_threads.add(self._reader)

    # -- start ---------------------------------------------------------------------
    @classmethod
    def start(cls, plan: PodPlan, *, timeout: float = 30.0, warm: bool | None = None) -> PodSandbox:
        """Launch podinit for ``plan`` and wait until it has set the pod up.

        ``warm``: fork podinit from this process (fast: no new interpreter, and
        ``fork_entrypoint`` containers find every module imported here already
        imported) instead of exec'ing ``python -m podtask.engines.local.podinit``.
        Forking is only safe when no other thread runs, so the default (None) is
        warm exactly when :func:`warm_fork_problem` finds nothing against it:
        called from the main thread, no threads but other sandboxes' reader
        threads, and ``PODTASK_WARM_FORK`` is not ``0``; otherwise the exec path
        is taken. ``warm=True`` asks for a warm start and still falls back to
        the exec path when forking is unsafe (``self.warm`` tells which it got);
        ``warm=False`` always execs. Call this before starting threads of your
        own (for instance a log follower), or the pod starts cold.

        Raises InfrastructureError (with podinit's own words) when it fails to
        come up; nothing is left behind in that case.
        """
        if plan.isolate and (why := linux.namespaces_available()) is not None:
            raise InfrastructureError(f"cannot isolate pod {plan.pod_name}: {why}")
        os.makedirs(plan.work_dir, exist_ok=True)
        cg: MemoryCgroups | None
        try:
            cg = find_memory_cgroups()
            cg.sweep_stale()
        except OSError:
            cg = None
        prefix = f"{os.getpid()}-{os.urandom(4).hex()}"
        log_path = os.path.join(plan.work_dir, "podinit.log")
        warm = warm is not False and warm_fork_problem() is None
        try:
            proc: subprocess.Popen[bytes] | _ForkedProc
            if warm:
                _preload_entrypoints(plan)
                proc = _fork_podinit(plan.isolate, log_path, _namespace_flags(plan))
            else:
                proc = _exec_podinit(plan.isolate, log_path, _unshare_flags(plan))
        except OSError as exc:
            shutil.rmtree(plan.work_dir, ignore_errors=True)
            raise InfrastructureError(f"cannot start the pod supervisor: {exc}") from exc
        sb = cls(plan, proc, cg, prefix, log_path)
        _open.add(sb)
        sb._reader.start()
        config = {
            "plan": plan.to_json(),
            "isolate": plan.isolate,
            "cgroup": {"version": cg.version, "parent": cg.parent} if cg else None,
            "prefix": prefix,
        }
        with contextlib.suppress(InfrastructureError):  # the answer below says what happened
            sb._send(config)
        if not sb._ready.wait(timeout) or sb._ready_msg is not None:
            reason = sb._ready_msg or f"no answer within {timeout:g}s"
            tail = sb.log_tail()
            sb.close()
            raise InfrastructureError(
                f"pod supervisor for {plan.pod_name} failed to start: {reason}"
                + (f"\n{tail}" if tail else "")
            )
        sb._podinit_pid = sb._find_podinit_pid()
        return sb

    def _find_podinit_pid(self) -> int | None:
        """Host pid of podinit: unshare's only child when isolated and exec'ed, else our child."""
        if not self.isolated or self.warm:
            return self._proc.pid
        pid = self._proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
                kids = fh.read().split()
            return int(kids[0]) if kids else None
        except (OSError, ValueError):
            return None

    # -- commands ------------------------------------------------------------------
    def start_container(self, name: str) -> None:
        """Ask podinit to start a container; watch for its ``started``/``error`` event."""
        self.plan.container(name)  # KeyError for unknown names, before bothering podinit
        self._send({"op": "start", "name": name})

    def signal(self, name: str, sig: int) -> None:
        """Send ``sig`` to the container's main process (SIGKILL: all of it, and its cgroup)."""
        self._send({"op": "signal", "name": name, "sig": int(sig)})

    def probe(self, name: str, probe: dict[str, Any], timeout: float) -> tuple[bool, str]:
        """One attempt of a Kubernetes probe (exec/tcpSocket/httpGet; ports numeric)."""
        ans = self._ask({"op": "probe", "name": name, "probe": probe, "timeout": timeout}, timeout)
        if ans is None:
            return False, f"probe got no answer within {timeout + _ANSWER_GRACE:g}s"
        if "error" in ans:
            return False, str(ans["error"])
        return bool(ans["ok"]), str(ans.get("message", ""))

    def exec(self, name: str, argv: Sequence[str], timeout: float) -> tuple[int, str]:
        """Run argv inside the container (its root, env, cwd, cgroup): (exit code, output).

        A command that cannot be run gives 126/127, one that times out is
        killed and gives 137; InfrastructureError if the container is not
        running or podinit does not answer.
        """
        req = {"op": "exec", "name": name, "argv": list(argv), "timeout": timeout}
        ans = self._ask(req, timeout)
        if ans is None:
            raise InfrastructureError(f"exec in {name}: no answer from the pod supervisor")
        if "error" in ans:
            raise InfrastructureError(f"exec in {name}: {ans['error']}")
        return int(ans["exit_code"]), str(ans["output"])

    def next_event(self, timeout: float | None = None) -> Event | None:
        """The next container event, or None after ``timeout`` seconds (None: wait forever)."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def log_tail(self, max_bytes: int = 4000) -> str:
        """The end of podinit's own stderr (setup failures, warnings)."""
        try:
            with open(self._log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - max_bytes))
                return fh.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    # -- close ---------------------------------------------------------------------
    def close(self) -> None:
        """Kill whatever is left and remove every trace of the pod (see module docstring)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = self._closing = True
        try:
            self._stop_podinit()
        finally:
            self._reader.join(timeout=5)
            for f in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(OSError):
                    if f is not None:
                        f.close()
            if self._cg is not None:
                self._cg.remove_prefix(self._prefix, timeout=2.0)
                # Again at the end: a kill -9-ed run's cgroup can still hold its dying
                # processes when the start-up sweep looks (1 left in a 1,000-run soak).
                self._cg.sweep_stale()
                self._cg.remove_parent_if_empty()
            shutil.rmtree(self.plan.work_dir, ignore_errors=True)
            _open.discard(self)

    def _stop_podinit(self) -> None:
        with contextlib.suppress(InfrastructureError):
            self._send({"op": "shutdown"})
        stdin: IO[bytes] | None = self._proc.stdin
        with contextlib.suppress(OSError):
            if stdin is not None:
                stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        # Isolated: killing unshare makes --kill-child SIGKILL podinit, and the
        # kernel then kills the whole PID namespace. We wait for podinit itself,
        # because its exit (not unshare's) is when the last pod process is gone.
        pidfd = None
        if self._podinit_pid is not None and self._podinit_pid != self._proc.pid:
            with contextlib.suppress(OSError):
                pidfd = os.pidfd_open(self._podinit_pid)
        try:
            if self._proc.poll() is None:
                self._proc.kill()
                if pidfd is not None:
                    with contextlib.suppress(OSError):
                        os.kill(self._podinit_pid or 0, _signal.SIGKILL)
            self._proc.wait()
            if pidfd is not None:
                select.select([pidfd], [], [], 10)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def __enter__(self) -> PodSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------
    def _send(self, obj: dict[str, Any]) -> None:
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        with self._lock:
            stdin = self._proc.stdin
            if stdin is None or (self._closing and obj.get("op") != "shutdown"):
                raise InfrastructureError(f"pod {self.plan.pod_name} is closed")
            try:
                stdin.write(data)
                stdin.flush()
            except (OSError, ValueError) as exc:
                raise InfrastructureError(
                    f"pod supervisor for {self.plan.pod_name} is gone: {exc}"
                ) from exc

    def _ask(self, req: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        ans = _Answer()
        with self._lock:
            req_id = next(self._ids)
            self._answers[req_id] = ans
        try:
            self._send({**req, "id": req_id})
            if not ans.done.wait(timeout + _ANSWER_GRACE):
                return None
            return ans.value
        finally:
            with self._lock:
                self._answers.pop(req_id, None)

    def _read_loop(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        for raw in stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            kind = msg.get("event")
            if kind == "ready":
                self._ready.set()
            elif kind == "fatal":
                self._ready_msg = str(msg.get("message", "unknown error"))
                self._ready.set()
            elif kind == "result":
                with self._lock:
                    ans = self._answers.get(int(msg.get("id", -1)))
                if ans is not None:
                    ans.value = msg
                    ans.done.set()
            elif kind in ("started", "exited", "error"):
                self._events.put(
                    Event(
                        kind=kind,
                        name=str(msg["name"]),
                        time=float(msg["time"]),
                        pid=msg.get("pid"),
                        exit_code=msg.get("exit_code"),
                        signal=msg.get("signal"),
                        oom=bool(msg.get("oom", False)),
                        reason=str(msg.get("reason", "")),
                        message=str(msg.get("message", "")),
                        command=str(msg.get("command", "")),
                        pid1=bool(msg.get("pid1", False)),
                    )
                )
        # EOF: podinit is gone.
        if not self._ready.is_set():
            self._ready_msg = "the supervisor exited during setup"
            self._ready.set()
        with self._lock:
            for ans in self._answers.values():
                ans.value = {"error": "the pod supervisor exited"}
                ans.done.set()
        if not self._closing:
            self._events.put(Event(kind="lost", name="", time=time.time(), message=self.log_tail()))
