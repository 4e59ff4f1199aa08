"""The podtask-side handle to one pod supervisor (``podinit``).

``PodSandbox.start(plan)`` launches podinit in fresh pid/net/ipc/uts/mount
namespaces (``isolate=True``) or as a plain child process (``isolate=False``)
and from then on talks to it over two pipes (see ``podinit``'s docstring for
the protocol). What this class guarantees:

* Nothing outlives podtask. podinit is started with ``PR_SET_PDEATHSIG =
  SIGKILL`` and, isolated, is PID 1 of the pod's PID namespace, so a
  ``kill -9`` of podtask kills the ``unshare`` process, which kills podinit,
  which makes the kernel kill every process of the pod. The death signal is
  tied to the *thread* that called :meth:`PodSandbox.start`: call it from a
  thread that lives as long as the pod (the main thread, typically).
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
import functools
import itertools
import json
import os
import queue
import secrets
import select
import shutil
import signal as _signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

from podtask._errors import InfrastructureError
from podtask.engines.local import linux
from podtask.engines.local.cgroups import MemoryCgroups, find_memory_cgroups
from podtask.engines.local.plan import PodPlan

_UNSHARE_FLAGS = ("--pid", "--net", "--mount", "--ipc", "--uts", "--fork", "--kill-child")
_ANSWER_GRACE = 5.0  # seconds beyond a probe/exec timeout before we give up on podinit


@dataclass(frozen=True)
class Event:
    """Something that happened to a container (times are podinit's ``time.time()``).

    ``kind``: ``"started"`` (pid), ``"exited"`` (exit_code, signal, oom),
    ``"error"`` (the container never ran: message, reason ``"StartError"``,
    exit_code 128), or ``"lost"`` (podinit itself died unexpectedly; ``name``
    is empty, message holds the tail of its log; no further events follow).
    """

    kind: str
    name: str
    time: float
    pid: int | None = None
    exit_code: int | None = None
    signal: int | None = None
    oom: bool = False
    reason: str = ""
    message: str = ""


class _Answer:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: dict[str, Any] = {}


def _preexec(parent_pid: int) -> None:  # runs in the forked child before exec
    linux.set_pdeathsig(_signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


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
        proc: subprocess.Popen[bytes],
        cg: MemoryCgroups | None,
        prefix: str,
        log_path: str,
    ) -> None:
        self.plan = plan
        self.isolated = plan.isolate
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

    # -- start ---------------------------------------------------------------------
    @classmethod
    def start(cls, plan: PodPlan, *, timeout: float = 30.0) -> PodSandbox:
        """Launch podinit for ``plan`` and wait until it has set the pod up.

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
        prefix = f"{os.getpid()}-{secrets.token_hex(4)}"
        log_path = os.path.join(plan.work_dir, "podinit.log")
        cmd = [sys.executable, "-m", "podtask.engines.local.podinit"]
        if plan.isolate:
            unshare = shutil.which("unshare") or "unshare"
            cmd = [unshare, *_UNSHARE_FLAGS, "--mount-proc", "--propagation", "private", "--", *cmd]
        try:
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,  # the terminal's Ctrl-C must not reach the pod
                    preexec_fn=functools.partial(_preexec, os.getpid()),
                )
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
        """Host pid of podinit: unshare's only child when isolated, else the process itself."""
        if not self.isolated:
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
        """Send ``sig`` to the container's process group (SIGKILL: also its cgroup)."""
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
