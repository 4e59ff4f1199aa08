"""The podman engine: the pod played by ``podman kube play``, driven like the local engine.

Start order is Kubernetes': ``kube play --start=false`` creates every
container (init containers and native sidecars rewritten as ordinary ones),
then podtask starts init containers one by one (each must exit 0), native
sidecars one by one gated by their startupProbe (run by podtask), then the
regular containers in one ``podman start``, sidecars before the primary.

Watching: one ``podman wait`` per started container, on a thread that then
reads the container's final state with ``podman container inspect``; the main
loop blocks on those reports (and wakes every 50 ms for Ctrl-C and the
deadline) and asks ``_lifecycle.decide`` what they mean.  Logs are tailed from
podman's own k8s-file log into the run directory as they are written.

Teardown, on every path: SIGTERM to what still runs (regular containers, then
native sidecars in reverse start order), SIGKILL when the grace period ends,
the last log lines saved, then the pod removed and the run's volume
directories deleted.  A guardian process does the same if podtask is killed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from podtask._contract import bootstrap_env
from podtask._errors import SpecError
from podtask._lifecycle import (
    INIT,
    NATIVE_SIDECAR,
    REGULAR,
    RUNNING,
    TERMINATED,
    WAITING,
    ContainerStatus,
    PodStatus,
    TaskPhase,
    Verdict,
    decide,
    observed_pod,
    running_names,
    settle,
    terminated_reason,
)
from podtask._run import AttemptContext, AttemptOutcome
from podtask.engines.podman import guardian
from podtask.engines.podman.cli import ContainerState, Podman, PodmanError
from podtask.engines.podman.manifest import Container, PodmanPod, to_podman
from podtask.engines.podman.probes import run_probe

TICK = 0.05  # longest wait between checks of Ctrl-C and the deadline
LOG_INTERVAL = 0.1  # how often podman's log files are copied into the run directory
DEFAULT_PULL_TIMEOUT = 300.0
SETUP_HINT = "the test images come from `.ci/setup-podman.sh --images`"


def _numeric_ports(c: Container, probe: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``probe`` with a named port replaced by the container's port number."""
    out = dict(probe)
    for key in ("httpGet", "tcpSocket"):
        action = probe.get(key)
        if not isinstance(action, dict) or not isinstance(action.get("port"), str):
            continue
        port = str(action["port"])
        if port.isdigit():
            number = int(port)
        else:
            match = [p for p in c.spec.get("ports") or [] if p.get("name") == port]
            if not match:
                raise SpecError(
                    f"probe port {port!r} is not a named port of {c.name}",
                    field=f"{c.where}.ports",
                    hint="add it to ports or use a number",
                )
            number = int(match[0]["containerPort"])
        out[key] = {**action, "port": number}
    return out


@dataclass
class _Probe:
    spec: dict[str, Any]
    next_at: float
    failures: int = 0


@dataclass(frozen=True)
class _Report:
    """A watcher's news: the container ended with this exit code (None: podman did not say)."""

    name: str
    exit_code: int | None
    time: float


class _Logs:
    """Copies podman's k8s-file logs into the run directory as plain lines.

    k8s-file lines read ``<time> <stream> <F|P> <text>``; ``P`` is part of a
    line that continues in the next record.  Reading the file directly costs
    no podman process per container, and the last copy happens before the pod
    (and with it the file) is removed.
    """

    def __init__(self, ctx: AttemptContext) -> None:
        self.ctx = ctx
        self.paths: dict[str, str] = {}
        self.offsets: dict[str, int] = {}
        self.files: dict[str, IO[bytes]] = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.started = threading.Event()  # set once the first containers were started

    def start(self, podman: Podman, pp: PodmanPod) -> None:
        self.thread = threading.Thread(
            target=self._loop, args=(podman, pp), name="podtask-podman-logs", daemon=True
        )
        self.thread.start()

    def _loop(self, podman: Podman, pp: PodmanPod) -> None:
        # Asked here, off the critical path and after the first start, so that the inspect
        # does not compete with ``podman start`` for the CPU.
        self.started.wait()
        states = podman.inspect([c.podman_name for c in pp.containers])
        with self.lock:
            self.paths = {
                c.name: states[c.podman_name].log_path
                for c in pp.containers
                if c.podman_name in states and states[c.podman_name].log_path
            }
        while not self.stop_event.wait(LOG_INTERVAL):
            self.copy()

    def copy(self) -> None:
        with self.lock:
            for name, path in self.paths.items():
                offset = self.offsets.get(name, 0)
                try:
                    with open(path, "rb") as f:
                        f.seek(offset)
                        data = f.read()
                except OSError:
                    continue
                end = data.rfind(b"\n") + 1  # whole records only
                if end == 0:
                    continue
                self.offsets[name] = offset + end
                out = self.files.get(name)
                if out is None:
                    out = self.files[name] = open(self.ctx.run_dir.log_path(name), "ab")  # noqa: SIM115
                for record in data[:end].split(b"\n")[:-1]:
                    parts = record.split(b" ", 3)
                    if len(parts) < 3:
                        continue
                    text = parts[3] if len(parts) == 4 else b""
                    out.write(text if parts[2] == b"P" else text + b"\n")
                out.flush()

    def close(self) -> None:
        self.stop_event.set()
        self.started.set()
        if self.thread is not None:
            self.thread.join()
        self.copy()
        for f in self.files.values():
            f.close()


class _Pod:
    """The engine's view of one attempt's pod: statuses, probes, what to start next."""

    def __init__(
        self, ctx: AttemptContext, podman: Podman, pp: PodmanPod, started: threading.Event
    ) -> None:
        self.ctx = ctx
        self.first_start = started
        self.podman = podman
        self.pp = pp
        self.infos = list(pp.containers)
        self.status: dict[str, ContainerStatus] = {
            c.name: ContainerStatus(c.name, kind=c.kind) for c in self.infos
        }
        self.stop_at: dict[str, float] = {}
        self.startup: dict[str, _Probe] = {}
        self.pids: dict[str, int] = {}
        self.started_order: list[str] = []
        self.next_index = 0
        self.waiting_on: str | None = None
        self.tearing_down = False
        self.pod_stopped = False
        self.reports: queue.Queue[_Report] = queue.Queue()
        self.watchers: list[threading.Thread] = []
        self.pending_since = time.time()

    def _set(self, name: str, **changes: Any) -> None:
        self.status[name] = dataclasses.replace(self.status[name], **changes)
        self.ctx.on_status(tuple(self.status.values()))

    def _info(self, name: str) -> Container:
        return self.pp.container(name)

    # -- starting ----------------------------------------------------------------------
    def start(self, infos: list[Container]) -> None:
        """``podman start`` these containers (one call) and watch each one that started."""
        names = [c.podman_name for c in infos]
        error = self.podman.start(names)
        now = time.time()
        self.first_start.set()
        states: dict[str, ContainerState] = {}
        needs_pid = any(c.name in self.startup or c.probe("startupProbe") for c in infos)
        if error or needs_pid:
            states = self.podman.inspect(names)
        for c in infos:
            st = states.get(c.podman_name)
            if error and (st is None or not st.ever_started):
                message = (st.error if st and st.error else "") or error
                self._set(
                    c.name,
                    state=TERMINATED,
                    reason="StartError",
                    exit_code=128,
                    message=message,
                    finished_at=now,
                )
                self.ctx.on_event(
                    {
                        "event": "exited",
                        "container": c.name,
                        "attempt": self.ctx.attempt,
                        "time": now,
                        "exit_code": 128,
                        "signal": None,
                        "reason": "StartError",
                        "message": message,
                    }
                )
                continue
            started = st.started_at if st and st.started_at else now
            if st is not None:
                self.pids[c.name] = st.pid
            self._set(c.name, state=RUNNING, reason=None, started_at=started)
            self.started_order.append(c.name)
            self.ctx.on_event(
                {
                    "event": "started",
                    "container": c.name,
                    "attempt": self.ctx.attempt,
                    "time": started,
                }
            )
            probe = c.probe("startupProbe")
            if probe is not None and c.kind != INIT:
                spec = _numeric_ports(c, probe)
                self.startup[c.name] = _Probe(
                    spec, started + float(spec.get("initialDelaySeconds", 0))
                )
            elif c.kind != INIT:
                self._set(c.name, ready=True, ready_at=started)
            watcher = threading.Thread(
                target=self._watch, args=(c,), name=f"podtask-wait-{c.name}", daemon=True
            )
            watcher.start()
            self.watchers.append(watcher)

    def _watch(self, c: Container) -> None:
        proc = self.podman.wait(c.podman_name)
        out, _ = proc.communicate()
        now = time.time()
        try:
            code: int | None = int(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            code = None
        self.reports.put(_Report(c.name, code, now))

    def advance(self) -> None:
        """Start whatever Kubernetes' start order allows now."""
        while not self.tearing_down and self.next_index < len(self.infos):
            if self.waiting_on is not None:
                st = self.status[self.waiting_on]
                if self._info(self.waiting_on).kind == INIT:
                    if not (st.state == TERMINATED and st.exit_code == 0):
                        return
                elif not (st.state == RUNNING and st.ready):
                    return
                self.waiting_on = None
            info = self.infos[self.next_index]
            if info.kind == REGULAR:
                rest = self.infos[self.next_index :]
                # Sidecars first: the primary is the one that usually waits for them.
                rest.sort(key=lambda c: c.name == self.ctx.primary)
                self.next_index = len(self.infos)
                self.start(rest)
                return
            self.next_index += 1
            self.start([info])
            self.waiting_on = info.name

    # -- reports and probes ------------------------------------------------------------
    def handle(self, report: _Report) -> None:
        """A container ended: record it now with the exit code ``podman wait`` printed.

        Exact times and OOMKilled come later from one ``inspect`` of all containers
        (``refine``), so that the decision waits on no further podman call.
        """
        name = report.name
        code = report.exit_code
        if code is None:
            st = self.podman.inspect([self._info(name).podman_name]).get(
                self._info(name).podman_name
            )
            code = st.exit_code if st is not None else None
        reason, message = self._reason(name, code, oom=False)
        self._set(
            name,
            state=TERMINATED,
            exit_code=code,
            reason=reason,
            message=message,
            finished_at=report.time,
            ready=False,
        )
        self.startup.pop(name, None)
        self.ctx.on_event(
            {
                "event": "exited",
                "container": name,
                "attempt": self.ctx.attempt,
                "time": report.time,
                "exit_code": code,
                "signal": None,
                "reason": reason,
                "message": message,
            }
        )

    def _reason(self, name: str, code: int | None, *, oom: bool) -> tuple[str, str | None]:
        if code is None:
            return "ContainerStatusUnknown", "podman lost the container"
        limit = ((self._info(name).spec.get("resources") or {}).get("limits") or {}).get("memory")
        if not oom and code == 137 and limit and not self.status[name].stopped_by_us:
            # podman 4.3 on cgroups v1 does not report OOMKilled; a SIGKILL nobody sent to a
            # container under a memory limit is the kernel's OOM killer.
            return (
                terminated_reason(code, None, True),
                "killed (SIGKILL) under its memory limit: most likely out of memory",
            )
        return terminated_reason(code, None, oom), None

    def refine(self) -> None:
        """Replace provisional times and codes by podman's own record of each container."""
        names = [c.podman_name for c in self.infos if self.status[c.name].started_at is not None]
        if not names:
            return
        states = self.podman.inspect(names)
        for c in self.infos:
            st = states.get(c.podman_name)
            cur = self.status[c.name]
            if st is None or cur.state != TERMINATED or cur.reason == "StartError":
                continue
            reason, message = self._reason(c.name, st.exit_code, oom=st.oom_killed)
            self.status[c.name] = dataclasses.replace(
                cur,
                exit_code=st.exit_code,
                reason=reason,
                message=cur.message or message or st.error or None,
                started_at=st.started_at or cur.started_at,
                finished_at=st.finished_at or cur.finished_at,
            )

    def drain(self, timeout: float) -> None:
        try:
            report = self.reports.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self.handle(report)
            try:
                report = self.reports.get_nowait()
            except queue.Empty:
                return

    def run_probes(self, now: float) -> None:
        for name, probe in list(self.startup.items()):
            if self.status[name].state != RUNNING or now < probe.next_at:
                continue
            timeout = float(probe.spec.get("timeoutSeconds", 1))
            ok, msg = run_probe(
                self.podman,
                self._info(name).podman_name,
                self.pids.get(name, 0),
                probe.spec,
                timeout,
            )
            probe.next_at = time.time() + float(probe.spec.get("periodSeconds", 10))
            if ok:
                del self.startup[name]
                at = time.time()
                self._set(name, ready=True, ready_at=at)
                self.ctx.on_event({"event": "ready", "container": name, "time": at})
                continue
            probe.failures += 1
            if probe.failures >= int(probe.spec.get("failureThreshold", 3)):
                del self.startup[name]
                why = f"startup probe failed {probe.failures} times: {msg.strip()}"
                self.ctx.notice(f"{name}: {why}; killing it")
                self._set(name, message=why)
                self.podman.kill([self._info(name).podman_name], "KILL")

    # -- deciding and stopping ---------------------------------------------------------
    def pod_status(self, *, timed_out: bool = False, aborted: bool = False) -> PodStatus:
        return observed_pod(
            self.ctx.primary,
            self.status,
            now=time.time(),
            timed_out=timed_out,
            aborted=aborted,
            pending_since=self.pending_since,
        )

    def running(self, kinds: tuple[str, ...]) -> list[str]:
        return running_names(self.status, kinds)

    def _signal(self, names: list[str], sig: str) -> None:
        now = time.time()
        for name in names:
            self.ctx.on_event(
                {"event": "stop-signal", "container": name, "signal": f"SIG{sig}", "time": now}
            )
        self.podman.kill([self._info(n).podman_name for n in names], sig)

    def stop(self, names: list[str], deadline: float) -> None:
        """SIGTERM ``names`` now, wait for them until ``deadline`` (monotonic), then SIGKILL."""
        if not names:
            return
        for name in names:
            self.stop_at.setdefault(name, time.time())
            self._set(name, stopped_by_us=True)
        self._signal(names, "TERM")
        self._wait_for(names, deadline)
        left = [n for n in names if self.status[n].state == RUNNING]
        if left:
            self._signal(left, "KILL")
            self._wait_for(left, time.monotonic() + 10)

    def _wait_for(self, names: list[str], deadline: float) -> None:
        while any(self.status[n].state == RUNNING for n in names):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.drain(min(left, 0.5))

    def teardown(self, *, include_primary: bool) -> None:
        self.tearing_down = True
        if self.ctx.grace <= 0:
            self._kill_all()
            return
        deadline = time.monotonic() + self.ctx.grace
        regular = [n for n in self.running((REGULAR,)) if include_primary or n != self.ctx.primary]
        self.stop(regular, deadline)
        self.stop(self.running((INIT,)), deadline)
        for name in reversed(self.started_order):
            if self._info(name).kind == NATIVE_SIDECAR and self.status[name].state == RUNNING:
                self.stop([name], max(deadline, time.monotonic() + 2))
        self._finish_watchers()

    def _kill_all(self) -> None:
        """No grace: one ``pod stop -t 0`` SIGKILLs everything at once (and the infra)."""
        names = [n for n in self.running((INIT, NATIVE_SIDECAR, REGULAR))]
        now = time.time()
        for name in names:
            self.stop_at.setdefault(name, now)
            self._set(name, stopped_by_us=True)
            self.ctx.on_event(
                {"event": "stop-signal", "container": name, "signal": "SIGKILL", "time": now}
            )
        self.podman.stop_pod(self.pp.pod_name)
        self.pod_stopped = True
        self._finish_watchers()

    def _finish_watchers(self) -> None:
        for w in self.watchers:
            w.join(timeout=10)
        self.drain(0)


def _start_guardian(podman: Podman, pod: str, dirs: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-I", "-S", guardian.__file__, podman.binary, pod, *dirs],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _release_guardian(proc: subprocess.Popen[bytes]) -> None:
    try:
        if proc.stdin is not None:
            proc.stdin.write(b"done")
            proc.stdin.close()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()


class PodmanEngine:
    """Pods as real containers through ``podman kube play``; nothing left behind."""

    name = "podman"

    def __init__(self) -> None:
        self._podman: Podman | None = None
        self._images_checked = False

    @property
    def podman(self) -> Podman:
        if self._podman is None:
            self._podman = Podman.find()
        return self._podman

    def _rewrite(self, ctx: AttemptContext, volume_dir: str, memory_dir: str) -> PodmanPod:
        pp = to_podman(
            ctx.manifest,
            primary=ctx.primary,
            volume_dir=volume_dir,
            memory_dir=memory_dir,
            source_root=ctx.source_root,
            run_dir=ctx.run_dir.path,
            extra_env={
                **bootstrap_env(ctx.run_id, ctx.attempt, ctx.source_root),
                "PYTHONUNBUFFERED": "1",
            },
        )
        for c in pp.containers:
            probe = c.probe("startupProbe")
            if probe is not None:
                _numeric_ports(c, probe)
        return pp

    def prepare(self, ctx: AttemptContext) -> None:
        podman = self.podman  # EngineUnavailable when podman is missing
        pp = self._rewrite(ctx, "/nonexistent", "/nonexistent")
        if self._images_checked:
            return
        self._ensure_images(ctx, podman, pp)
        self._images_checked = True

    def _ensure_images(self, ctx: AttemptContext, podman: Podman, pp: PodmanPod) -> None:
        """Every image present before the pod exists: a bad image fails in a second, by name."""
        if podman.images_present([image for image, _, _ in pp.images]):
            return
        timeout = float(ctx.engine_options.get("pull_timeout") or DEFAULT_PULL_TIMEOUT)
        for image, container, where in pp.images:
            if podman.image_present(image):
                continue
            policy = pp.container(container).spec.get("imagePullPolicy")
            if policy == "Never":
                raise SpecError(
                    f"image {image!r} of container {container!r} is not present"
                    " and imagePullPolicy is Never",
                    field=where,
                    hint=f"build or pull it first; {SETUP_HINT}",
                )
            ctx.notice(f"podman engine: pulling {image} for container {container}")
            error = podman.pull(image, timeout)
            if error is not None:
                raise SpecError(
                    f"image {image!r} of container {container!r} is not present"
                    f" and cannot be pulled: {error}",
                    field=where,
                    hint=f"fix the image name, or build or pull it first; {SETUP_HINT}",
                )

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        podman = self.podman
        work = tempfile.mkdtemp(prefix=f"podtask-{ctx.run_id[:40]}-")
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        memory = tempfile.mkdtemp(prefix=f"podtask-{ctx.run_id[:40]}-", dir=shm)
        dirs = [work, memory]
        keeper: subprocess.Popen[bytes] | None = None
        pod: _Pod | None = None
        logs = _Logs(ctx)
        try:
            pp = self._rewrite(ctx, os.path.join(work, "volumes"), memory)
            for d in pp.host_dirs:
                os.makedirs(d, exist_ok=True)
            yaml_path = os.path.join(work, "pod.json")  # YAML is a superset of JSON
            Path(yaml_path).write_text(json.dumps(pp.manifest))
            if ctx.attempt > 1:
                for c in pp.containers:
                    with open(ctx.run_dir.log_path(c.name), "a") as f:
                        f.write(f"----- podtask: attempt {ctx.attempt} -----\n")
            keeper = _start_guardian(podman, pp.pod_name, dirs)
            pod = _Pod(ctx, podman, pp, logs.started)
            ctx.on_event({"event": "pod-create", "engine": self.name, "time": time.time()})
            try:
                podman.play(yaml_path)
            except PodmanError as exc:
                return AttemptOutcome(
                    verdict=Verdict(TaskPhase.FAILED, "CreateContainerError", str(exc)),
                    containers=tuple(
                        dataclasses.replace(s, state=WAITING, reason="CreateContainerError")
                        for s in pod.status.values()
                    ),
                )
            logs.start(podman, pp)
            verdict = self._loop(ctx, pod)
            primary_done = pod.status[ctx.primary].state == TERMINATED
            pod.teardown(include_primary=not primary_done)
            pod.refine()
            verdict = settle(verdict, pod.pod_status, sidecar_failure=ctx.sidecar_failure)
            return AttemptOutcome(
                verdict=verdict,
                containers=tuple(pod.status.values()),
                stop_signal_at=dict(pod.stop_at),
            )
        finally:
            logs.close()
            try:
                podman.remove_pod(
                    str(ctx.manifest.get("metadata", {}).get("name", "")),
                    stopped=pod is not None and pod.pod_stopped,
                )
            finally:
                for d in dirs:
                    shutil.rmtree(d, ignore_errors=True)
                ctx.on_event({"event": "pod-removed", "engine": self.name, "time": time.time()})
                if keeper is not None:
                    _release_guardian(keeper)

    def _loop(self, ctx: AttemptContext, pod: _Pod) -> Verdict:
        while True:
            pod.advance()
            pod.run_probes(time.time())
            pod.drain(TICK)
            timed_out = ctx.deadline is not None and time.monotonic() >= ctx.deadline
            verdict = decide(
                pod.pod_status(timed_out=timed_out, aborted=ctx.cancel.is_set()),
                sidecar_failure=ctx.sidecar_failure,
            )
            if verdict.terminal:
                return verdict
