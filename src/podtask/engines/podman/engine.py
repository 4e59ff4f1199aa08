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
the last log lines saved, then the pod removed, the subPath binds unmounted
(``subpaths.py``) and the run's volume directories deleted.  A guardian
process does the same if podtask is killed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from podtask._compile.render import Capabilities
from podtask._contract import bootstrap_env
from podtask._errors import SpecError
from podtask._lifecycle import (
    TERMINATED,
    ContainerStatus,
    TaskPhase,
    Verdict,
    terminated_reason,
)
from podtask._run import AttemptContext, AttemptOutcome, EngineOptions, PodmanOptions
from podtask._storage.space import is_full
from podtask.engines._kubelet.attempt import mark_attempt_in_logs, run_attempt
from podtask.engines._kubelet.driver import PodDriver
from podtask.engines._kubelet.port import (
    EXITED,
    START_ERROR,
    STARTED,
    RuntimeEvent,
    check_probes,
)
from podtask.engines.podman import guardian, subpaths
from podtask.engines.podman.cli import Podman, PodmanError
from podtask.engines.podman.manifest import Container, PodmanPod, to_podman
from podtask.engines.podman.probes import run_probe

LOG_INTERVAL = 0.1  # how often podman's log files are copied into the run directory
DEFAULT_PULL_TIMEOUT = 300.0
SETUP_HINT = "the test images come from `.ci/setup-podman.sh --images`"


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
        self.full: set[str] = set()  # logs whose copy met a full disk: they end there

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

    def began(self, name: str) -> None:
        """A container started: its log exists from now on, empty if it never writes.

        As on the local engine, so ``podtask logs`` can tell "wrote nothing"
        from "never started".
        """
        with self.lock:
            self._write(name, [])

    def _out(self, name: str) -> IO[bytes]:
        out = self.files.get(name)
        if out is None:
            out = self.files[name] = open(self.ctx.run_dir.log_path(name), "ab")  # noqa: SIM115
        return out

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
                lines = []
                for record in data[:end].split(b"\n")[:-1]:
                    parts = record.split(b" ", 3)
                    if len(parts) < 3:
                        continue
                    text = parts[3] if len(parts) == 4 else b""
                    lines.append(text if parts[2] == b"P" else text + b"\n")
                self._write(name, lines)

    def _write(self, name: str, lines: list[bytes]) -> None:
        """Append to the run's copy of the log; a full disk ends that copy, not the run.

        The container never sees this disk (podman logs elsewhere), so it runs
        on; the run's record still has to be written, and the runner says that
        the disk filled (``space.FillWatch``).
        """
        if name in self.full:
            return
        try:
            out = self._out(name)
            for line in lines:
                out.write(line)
            out.flush()
        except OSError as exc:
            if not is_full(exc):
                raise
            self.full.add(name)

    def close(self) -> None:
        self.stop_event.set()
        self.started.set()
        if self.thread is not None:
            self.thread.join()
        self.copy()
        for name, f in self.files.items():
            try:
                f.close()
            except OSError as exc:  # what was still buffered did not fit
                if not is_full(exc):
                    raise
                self.full.add(name)


class PodmanRuntime:
    """The pod driver's runtime port over podman: ``podman start``/``kill``/``wait``/``exec``.

    Each started container gets a thread blocked in ``podman wait``; its exit
    becomes an event on the queue the driver reads.  Every time is podman's
    own (``StartedAt``, ``FinishedAt`` from ``inspect``), read when the event
    is made: the events, the driver's status and so the recorded table and
    ``events.jsonl`` share one clock, and a container is never shown ready
    after it exited (the moment podtask *noticed* a start or exit lags
    podman's by up to a few hundred milliseconds under load).
    """

    def __init__(self, podman: Podman, pp: PodmanPod, logs: _Logs) -> None:
        self.podman = podman
        self.pp = pp
        self.logs = logs
        self.first_start = logs.started
        self.events: queue.Queue[RuntimeEvent] = queue.Queue()
        self.pids: dict[str, int] = {}
        self.signalled: set[str] = set()
        self.watchers: list[threading.Thread] = []

    def start(self, names: Sequence[str]) -> None:
        infos = [self.pp.container(n) for n in names]
        # Each subPath is resolved and bound right before its container starts
        # (CVE-2017-1002101): podman mounts the bind, not a path inside the volume.
        refused = {c.name: why for c in infos if (why := subpaths.bind(self.pp, c.name))}
        podman_names = [c.podman_name for c in infos if c.name not in refused]
        error = self.podman.start(podman_names) if podman_names else ""
        now = time.time()
        self.first_start.set()
        # Their start times (and pids, for network probes), in one call for the batch.
        states = self.podman.inspect(podman_names) if podman_names else {}
        for c in infos:
            st = states.get(c.podman_name)
            if c.name in refused or (error and (st is None or not st.ever_started)):
                message = refused.get(c.name) or (st.error if st and st.error else "") or error
                self.events.put(
                    RuntimeEvent(
                        START_ERROR,
                        c.name,
                        now,
                        exit_code=128,
                        reason="CreateContainerConfigError" if c.name in refused else "StartError",
                        message=message,
                    )
                )
                continue
            if st is not None:
                self.pids[c.name] = st.pid
            self.logs.began(c.name)
            self.events.put(
                RuntimeEvent(STARTED, c.name, st.started_at if st and st.started_at else now)
            )
            watcher = threading.Thread(
                target=self._watch, args=(c,), name=f"podtask-wait-{c.name}", daemon=True
            )
            watcher.start()
            self.watchers.append(watcher)

    def _watch(self, c: Container) -> None:
        proc = self.podman.wait(c.podman_name)
        out, _ = proc.communicate()
        now = time.time()
        st = self.podman.inspect([c.podman_name]).get(c.podman_name)  # when it really ended
        try:
            code: int | None = int(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            code = st.exit_code if st is not None else None
        at = st.finished_at if st is not None and st.finished_at else now
        reason, message = self.reason(c.name, code, oom=st is not None and st.oom_killed)
        tail = functools.partial(self.podman.log_tail, c.podman_name)
        message = self.pp.termination_message(c.name, code, tail) or message
        self.events.put(
            RuntimeEvent(EXITED, c.name, at, exit_code=code, reason=reason, message=message)
        )

    def reason(self, name: str, code: int | None, *, oom: bool) -> tuple[str, str]:
        """A reason only where podman's exit code alone would mislead ('' otherwise)."""
        if code is None:
            return "ContainerStatusUnknown", "podman lost the container"
        spec = self.pp.container(name).spec
        limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
        if not oom and code == 137 and limit and name not in self.signalled:
            # podman 4.3 on cgroups v1 does not report OOMKilled; a SIGKILL nobody sent to a
            # container under a memory limit is the kernel's OOM killer.
            return (
                terminated_reason(code, None, True),
                "killed (SIGKILL) under its memory limit: most likely out of memory",
            )
        return (terminated_reason(code, None, True), "") if oom else ("", "")

    def signal(self, names: Sequence[str], sig: int) -> None:
        self.signalled.update(names)
        self.podman.kill(
            [self.pp.container(n).podman_name for n in names],
            signal.Signals(sig).name.removeprefix("SIG"),
        )

    def next_event(self, timeout: float) -> RuntimeEvent | None:
        try:
            return self.events.get(timeout=timeout) if timeout > 0 else self.events.get_nowait()
        except queue.Empty:
            return None

    def probe(self, name: str, spec: dict[str, Any], timeout: float) -> tuple[bool, str]:
        c = self.pp.container(name)
        return run_probe(self.podman, c.podman_name, self.pids.get(name, 0), spec, timeout)

    def finish(self, driver: PodDriver) -> None:
        """After teardown: the last exits, then podman's final word on each exit code and OOM.

        The times stay the events' (already podman's): one source for the
        status, the record and ``events.jsonl``.
        """
        for w in self.watchers:
            w.join(timeout=10)
        driver.drain(0)
        started = [c for c in self.pp.containers if driver.status[c.name].started_at is not None]
        if not started:
            return
        states = self.podman.inspect([c.podman_name for c in started])
        for c in started:
            st = states.get(c.podman_name)
            cur = driver.status[c.name]
            if st is None or cur.state != TERMINATED or cur.reason == "StartError":
                continue
            reason, message = self.reason(c.name, st.exit_code, oom=st.oom_killed)
            driver.status[c.name] = dataclasses.replace(
                cur,
                exit_code=st.exit_code,
                reason=reason or terminated_reason(st.exit_code, None, False),
                message=cur.message or message or st.error or None,
            )


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
    options_type = PodmanOptions

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
        check_probes(pp.containers)
        return pp

    def capabilities(self, options: EngineOptions, run_dir: Path) -> Capabilities:
        """Images carry podtask; native sidecars, probes and restarts are the pod driver's."""
        return Capabilities()

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
        timeout = ctx.options(PodmanOptions).pull_timeout or DEFAULT_PULL_TIMEOUT
        for image, container, where in pp.images:
            if podman.image_present(image):
                continue
            hint = f"build or pull it first; {SETUP_HINT}"
            if pp.container(container).spec.get("imagePullPolicy") == "Never":
                why = "imagePullPolicy is Never"
            else:
                ctx.notice(f"podman engine: pulling {image} for container {container}")
                error = podman.pull(image, timeout)
                if error is None:
                    continue
                why, hint = f"cannot be pulled: {error}", f"fix the image name, or {hint}"
            raise SpecError(
                f"image {image!r} of container {container!r} is not present and {why}",
                field=where,
                hint=hint,
            )

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        podman = self.podman
        work = tempfile.mkdtemp(prefix=f"podtask-{ctx.run_id[:40]}-")
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        memory = tempfile.mkdtemp(prefix=f"podtask-{ctx.run_id[:40]}-", dir=shm)
        dirs = [work, memory]
        keeper: subprocess.Popen[bytes] | None = None
        logs = _Logs(ctx)
        try:
            pp = self._rewrite(ctx, os.path.join(work, "volumes"), memory)
            for d in pp.host_dirs:
                os.makedirs(d, exist_ok=True)
            subpaths.stage(pp)
            yaml_path = os.path.join(work, "pod.json")  # YAML is a superset of JSON
            Path(yaml_path).write_text(json.dumps(pp.manifest))
            mark_attempt_in_logs(ctx, (c.name for c in pp.containers))
            keeper = _start_guardian(podman, pp.pod_name, dirs)
            ctx.on_event({"event": "pod-create", "engine": self.name, "time": time.time()})
            try:
                podman.play(yaml_path)
            except PodmanError as exc:
                return AttemptOutcome(
                    verdict=Verdict(TaskPhase.FAILED, "CreateContainerError", str(exc)),
                    containers=tuple(
                        ContainerStatus(c.name, kind=c.kind, reason="CreateContainerError")
                        for c in pp.containers
                    ),
                )
            logs.start(podman, pp)
            runtime = PodmanRuntime(podman, pp, logs)
            return run_attempt(ctx, runtime, pp.containers, after_teardown=runtime.finish)
        finally:
            logs.close()
            try:
                podman.remove_pod(str(ctx.manifest.get("metadata", {}).get("name", "")))
            finally:
                for d in dirs:
                    if guardian.unmount_below(d):  # never delete through a subPath's bind
                        shutil.rmtree(d, ignore_errors=True)
                ctx.on_event({"event": "pod-removed", "engine": self.name, "time": time.time()})
                if keeper is not None:
                    _release_guardian(keeper)
