"""The "kubelet": each pod the server accepts really runs, on the local engine.

Design: one worker thread per pod drives the pod driver every engine shares
(``podtask.engines._kubelet.PodDriver`` over a ``PodSandbox``), which already
knows Kubernetes' start order (init containers, native sidecars gated by
their startupProbe, then the regular containers), probes, native-sidecar
restarts and the graceful stop (regular containers, then native sidecars in
reverse order, SIGKILL after the grace period). What differs from
``LocalEngine.run_attempt`` is who decides the end: the local engine ends a
pod when the podtask *primary* is done; a kubelet ends it when every regular
container has exited (``restartPolicy: Never``), or when the pod is deleted,
evicted or over its ``activeDeadlineSeconds``. So this module reuses the
driver, not ``run_attempt``, and reports what it sees as ``status`` the way a
kubelet does (phase, conditions, container states).

The worker thread starts the sandbox and lives until it is closed: the
sandbox's parent-death signal is tied to that thread, so a ``kill -9`` of the
server takes every pod with it.

Images are never pulled: containers run their command from this host, and a
container named as the podtask primary (annotation
``podtask.io/primary-container``, or a command of ``python3 -m
podtask.entrypoint``) runs this interpreter's entrypoint, as with the local
engine; its ``--output-prefix`` directory is bound into it so outputs reach
the host.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podtask._contract import (
    ANNOTATION_PRIMARY,
    ENTRYPOINT_COMMAND,
    FLAG_OUTPUT_PREFIX,
    grace_of,
)
from podtask._errors import InfrastructureError, SpecError
from podtask._lifecycle import INIT, NATIVE_SIDECAR, REGULAR, RUNNING, TERMINATED, ContainerStatus
from podtask.engines._kubelet.driver import PodDriver
from podtask.engines.local.engine import SandboxRuntime
from podtask.engines.local.linux import namespaces_available
from podtask.engines.local.sandbox import Event, PodSandbox
from podtask.engines.local.translate import ContainerInfo, build_plan, container_infos
from podtask.engines.local.workdirs import make_work_dir, sweep_stale_work_dirs
from podtask.testing.apiserver import logtimes, podnet, podprep
from podtask.testing.apiserver.podstatus import pod_phase, runtime_message, ts

PRIMARY_ANNOTATION = ANNOTATION_PRIMARY
ENTRYPOINT = list(ENTRYPOINT_COMMAND)
IDLE_TICK = 1.0  # nothing to poll: wake on events, stop requests, or this
BUSY_TICK = 0.05  # probes, restarts or an image-pull back-off are pending
CRASH_BACKOFF = (10.0, 300.0)  # the kubelet's: restart at once, then 10 s doubling to 5 min
PULL_BACKOFF_AFTER = 1.0  # ErrImagePull turns into ImagePullBackOff after this long
# A command that cannot start: a real runtime tries for ~2 s (ContainerCreating), then the
# container shows StartError while the pod stays Pending ~1 s more, then the pod fails.
START_TRIES = 1.8
START_ERROR_PENDING = 1.2

StatusSink = Callable[[str, str, str, dict[str, Any]], bool]  # ns, name, uid, status -> alive?
PullCheck = Callable[[str, str, str, str], "str | None"]  # ns, pod, container, image -> error
# pod, container (None: the pod), type, reason, message: an Event, as the kubelet records it
EventSink = Callable[[dict[str, Any], "str | None", str, str, str], None]


def _no_events(_pod: dict[str, Any], _c: str | None, _t: str, _r: str, _m: str) -> None:
    return None


class _Sandbox(PodSandbox):
    """A PodSandbox whose containers can "fail to pull" and whose waits can be interrupted."""

    blocked: Callable[[str], bool] = staticmethod(lambda _name: False)

    def start_container(self, name: str) -> None:
        if self.blocked(name):
            return  # the image never arrives: the container stays waiting
        super().start_container(name)

    def wake(self) -> None:
        """Make a blocked ``next_event`` return (the driver ignores unnamed events)."""
        self._events.put(Event(kind="wake", name="", time=time.time()))


def find_primary(pod: dict[str, Any]) -> str:
    """The container to run as the podtask primary, or "" for none."""
    containers = pod.get("spec", {}).get("containers") or []
    named = (pod.get("metadata", {}).get("annotations") or {}).get(PRIMARY_ANNOTATION)
    for c in containers:
        if named and c.get("name") == named:
            return str(named)
    for c in containers:
        if list(c.get("command") or [])[:3] == ENTRYPOINT:
            return str(c["name"])
    return ""


def _output_dir(pod: dict[str, Any], primary: str, fallback: Path, host_files: bool) -> Path:
    """Where the primary writes outputs: bound into it so the host sees them.

    Only on a server that says its pods share this machine's files, and only
    when no volume of the primary holds that path (a volume keeps it in the pod,
    as on a cluster); otherwise ``fallback``, the pod's own directory."""
    for c in pod.get("spec", {}).get("containers") or []:
        if c.get("name") != primary or not host_files:
            continue
        mounts = [str(m.get("mountPath", "")).rstrip("/") for m in c.get("volumeMounts") or []]
        args = [str(a) for a in c.get("args") or []]
        for i, a in enumerate(args):
            value = None
            if a == FLAG_OUTPUT_PREFIX and i + 1 < len(args):
                value = args[i + 1]
            elif a.startswith(f"{FLAG_OUTPUT_PREFIX}="):
                value = a.split("=", 1)[1]
            in_volume = any(m and (value or "").startswith(m + "/") for m in mounts)
            if value and os.path.isabs(value) and not in_volume:
                path = Path(value)
                path.mkdir(parents=True, exist_ok=True)
                return path
    return fallback


class PodWorker:
    """Runs one pod and reports its status; stop it with :meth:`request_stop`."""

    def __init__(self, pod: dict[str, Any], node: Kubelet) -> None:
        meta = pod["metadata"]
        self.namespace = str(meta["namespace"])
        self.name = str(meta["name"])
        self.uid = str(meta["uid"])
        self.manifest = copy.deepcopy(pod)
        self.spec: dict[str, Any] = self.manifest.get("spec", {})
        self.grace = grace_of(self.manifest)  # terminationGracePeriodSeconds
        self.infos: list[ContainerInfo] = container_infos(self.spec)
        self.log_dir = node.state_dir / "pods" / self.uid
        self.node = node  # the node's settings (sink, token, crash back-off, ...), read once
        self.api_port = node.api_port()
        self.log_times = node.log_times
        self.told: set[tuple[str, str]] = set()  # (container, what) said once per pod
        self.bridged = False
        self.bridge: podnet.Bridge | None = None
        self.bridge_error: str | None = None
        self.not_ready: podprep.NotReady | None = None  # why the pod cannot start yet
        self.log_ends: dict[str, list[int]] = {}  # container -> log size at the end of each run
        self.lock = threading.RLock()
        self.pod: PodDriver | None = None
        self.sb: _Sandbox | None = None
        self.config_error: str | None = None
        self.pull_errors: dict[str, tuple[str, float]] = {}  # container -> (message, since)
        self.term_seen: dict[str, dict[str, Any]] = {}  # last terminated state per container
        self.last_state: dict[str, dict[str, Any]] = {}
        self.known_restarts: dict[str, int] = {}
        self.conditions: dict[str, tuple[str, str]] = {}  # type -> (status, lastTransitionTime)
        self.start_time: float | None = None
        self.stop_grace: float | None = None
        self.stop_reason: tuple[str, str] | None = None  # pod (reason, message) when we kill it
        self.disruption: tuple[str, str] | None = None  # DisruptionTarget (reason, message)
        self.shutdown = False
        self.finished = threading.Event()
        self.terminal = False
        self.wakeup = threading.Event()
        self._kill_timer: threading.Timer | None = None
        self.thread = threading.Thread(
            target=self._main, name=f"kubelet-{self.namespace}/{self.name}", daemon=True
        )

    # -- control (any thread) ---------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def request_stop(
        self, grace: float, *, reason: tuple[str, str] | None = None, shutdown: bool = False
    ) -> None:
        """Kill the pod's containers: SIGTERM now, SIGKILL after ``grace`` seconds."""
        with self.lock:
            if reason is not None and self.stop_reason is None:
                self.stop_reason = reason
                warn = reason[0] == "Evicted"
                self._tell(None, "Warning" if warn else "Normal", reason[0], reason[1])
            self.shutdown = self.shutdown or shutdown
            first = self.stop_grace is None
            if first or grace < (self.stop_grace or 0):
                self.stop_grace = grace
            pod, sb = self.pod, self.sb
        self.wakeup.set()
        if sb is not None:
            sb.wake()
        if pod is not None and pod.tearing_down and not first:
            # Already stopping with a longer grace: cut it short, as a second delete does.
            timer = threading.Timer(grace, self._kill_all)
            timer.daemon = True
            with self.lock:
                if self._kill_timer is not None:
                    self._kill_timer.cancel()
                self._kill_timer = timer
            timer.start()

    def disrupt(self, reason: str, message: str) -> None:
        """Add the ``DisruptionTarget`` condition the API server sets before it deletes."""
        with self.lock:
            if self.disruption is None:
                self.disruption = (reason, message)

    # -- events: what a kubelet records about the pod -------------------------------------
    def _tell(self, container: str | None, etype: str, reason: str, message: str) -> None:
        with contextlib.suppress(Exception):  # an event lost never stops a pod
            self.node.record(self.manifest, container, etype, reason, message)

    def _tell_once(self, container: str, what: str, etype: str, reason: str, msg: str) -> None:
        if (container, what) not in self.told:
            self.told.add((container, what))
            self._tell(container, etype, reason, msg)

    def _spec(self, container: str) -> dict[str, Any]:
        return next((i.spec for i in self.infos if i.name == container), {})

    def _image(self, container: str) -> str:
        return str(self._spec(container).get("image", ""))

    def _tell_started(self, name: str) -> None:
        """Pulled (or already present), Created, Started: the kubelet's words for a start."""
        image = self._image(name)
        if self._spec(name).get("imagePullPolicy") == "Always":
            self._tell(name, "Normal", "Pulling", f'Pulling image "{image}"')
            self._tell(
                name,
                "Normal",
                "Pulled",
                f'Successfully pulled image "{image}" in 0s (0s including waiting).'
                " Image size: 0 bytes.",
            )
        else:
            self._tell(
                name, "Normal", "Pulled", f'Container image "{image}" already present on machine'
            )
        self._tell(name, "Normal", "Created", f"Created container: {name}")
        self._tell(name, "Normal", "Started", f"Started container {name}")

    def _tell_pull(self, now: float) -> None:
        """ErrImagePull, then ImagePullBackOff, as the kubelet reports a pull that fails."""
        for name, (message, since) in list(self.pull_errors.items()):
            image = self._image(name)
            if (name, "pull") not in self.told:
                self._tell(name, "Normal", "Pulling", f'Pulling image "{image}"')
                self._tell(name, "Warning", "Failed", f'Failed to pull image "{image}": {message}')
                self._tell_once(name, "pull", "Warning", "Failed", "Error: ErrImagePull")
            if now - since >= PULL_BACKOFF_AFTER and (name, "pull-backoff") not in self.told:
                self._tell(name, "Normal", "BackOff", f'Back-off pulling image "{image}"')
                failed = "Error: ImagePullBackOff"
                self._tell_once(name, "pull-backoff", "Warning", "Failed", failed)

    def _kill_all(self) -> None:
        pod = self.pod
        if pod is not None:
            with contextlib.suppress(InfrastructureError):
                pod.kill_now()

    def log_path(self, container: str) -> Path:
        return self.log_dir / f"{container}.log"

    def _mark_log_end(self, container: str) -> None:
        """Note where a container run's output ends: the engine appends every run of a
        container to one file, the kubelet keeps one log per run."""
        self.log_times.observe(self.log_path(container))
        try:
            size = self.log_path(container).stat().st_size
        except OSError:
            size = 0
        with self.lock:
            self.log_ends.setdefault(container, []).append(size)

    def log_range(self, container: str, previous: bool) -> tuple[int, int | None] | None:
        """Byte range of the current run's log (end None: still growing) or the previous
        run's; None when there is no previous run."""
        pod = self.pod
        cs = pod.status.get(container) if pod is not None else None
        run = cs.restart_count if cs is not None else 0
        with self.lock:
            ends = list(self.log_ends.get(container, []))
        if previous:
            if run < 1 or len(ends) < run:
                return None
            run -= 1
        start = ends[run - 1] if run >= 1 and len(ends) >= run else 0
        end = ends[run] if len(ends) > run else None
        return start, end

    def is_running(self, container: str) -> bool:
        pod = self.pod
        return (
            pod is not None
            and not self.finished.is_set()
            and pod.status.get(container, ContainerStatus(container)).state == RUNNING
        )

    # -- the worker thread ----------------------------------------------------------------
    def _main(self) -> None:
        try:
            self._run()
        except Exception as exc:  # never let a pod take the server down; report it
            self.config_error = self.config_error or f"kubelet: {exc}"
            self._publish()
        finally:
            with self.lock:
                if self._kill_timer is not None:
                    self._kill_timer.cancel()
                bridge, self.bridge = self.bridge, None
            if bridge is not None:
                bridge.close()  # it pins the pod's network namespace
            self.finished.set()
        if not self.shutdown:
            self.node.on_finished(self)

    def _run(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.start_time = time.time()
        self._publish()  # scheduled: PodScheduled, startTime, containers waiting
        prepared = self._prepare()
        if prepared is None:
            self._finish()  # stopped (deleted, deadline) before it could start
            return
        primary = find_primary(self.manifest)
        sweep_stale_work_dirs()  # left by a podtask or test server killed with kill -9
        work_dir = make_work_dir(self.name)
        run_dir = _output_dir(self.manifest, primary, self.log_dir, self.node.host_files)
        try:
            plan, _ = build_plan(
                prepared,
                run_id=self.name,
                primary=primary,
                work_dir=work_dir,
                log_path=self.log_path,
                run_dir=run_dir,
                extra_env={},
                isolate=self.node.isolate,
            )
            for info in self.infos:  # containers whose image "cannot be pulled"
                image = str(info.spec.get("image", ""))
                err = self.node.pull_check(self.namespace, self.name, info.name, image)
                if err is not None:
                    self.pull_errors[info.name] = (err, time.time())
            sb = _Sandbox.start(dataclasses.replace(plan, namespace=self.namespace))
        except (SpecError, InfrastructureError) as exc:
            self._setup_failed(work_dir, exc)
            return
        assert isinstance(sb, _Sandbox)  # PodSandbox.start builds ``cls``
        sb.blocked = lambda name: name in self.pull_errors
        with sb:
            pod = PodDriver(
                SandboxRuntime(sb),
                self.infos,
                primary=primary,
                grace=self.grace,
                restart_policy=str(self.spec.get("restartPolicy", "Always")),
                restart_delay=self._restart_delay,
                on_status=lambda _s: self._publish(),
                on_event=self._on_event,
            )
            with self.lock:
                self.sb = sb
                self.pod = pod
            self._publish()
            self._loop(pod)
            with self.lock:
                grace = self.stop_grace if self.stop_grace is not None else self.grace
            if self.stop_reason is not None and self.stop_reason[0] == "Evicted":
                self._publish()
            pod.teardown(grace)
            self._finish()

    def _prepare(self) -> dict[str, Any] | None:
        """The manifest resolved against the API; retried each second while it is NotReady."""
        while True:
            try:
                prepared = podprep.prepare(
                    self.manifest,
                    lookup=self.node.lookup,
                    pod_dir=self.log_dir,
                    node_name=self.node.node_name,
                    api_port=self.api_port,
                    isolate=self.node.isolate,
                    token=self.node.token,
                )
            except podprep.NotReady as exc:
                with self.lock:
                    self.not_ready = exc
                if exc.message.startswith("MountVolume."):
                    self._tell(None, "Warning", "FailedMount", exc.message)
                elif exc.reason == "CreateContainerConfigError":
                    self._tell(exc.container, "Warning", "Failed", f"Error: {exc.message}")
                self._publish()
                self._idle()
                if self.stop_grace is not None:
                    return None
                continue
            with self.lock:
                self.not_ready = None
            return prepared

    def _wait_for_stop(self) -> None:
        while self.stop_grace is None:
            self._idle()

    def _idle(self) -> None:
        """Before the pod runs: wait for a stop request (or a second), then check the deadline."""
        self.wakeup.wait(IDLE_TICK)
        self.wakeup.clear()
        self._check_deadline()

    def _finish(self) -> None:
        self.terminal = True
        self._publish()

    def _check_deadline(self) -> None:
        limit = self.spec.get("activeDeadlineSeconds")
        if limit is None or self.start_time is None or self.stop_grace is not None:
            return
        # From startTime as the API shows it (whole seconds), so up to a second early.
        if time.time() >= int(self.start_time) + float(limit):
            too_long = "Pod was active on the node longer than the specified deadline"
            self.request_stop(self.grace, reason=("DeadlineExceeded", too_long))

    def _loop(self, pod: PodDriver) -> None:
        policy = self.spec.get("restartPolicy", "Always")
        while True:
            self._check_deadline()
            if self.stop_grace is not None:
                return
            now = time.time()
            busy = pod.busy
            self._tell_pull(now)
            if any(
                now - since < PULL_BACKOFF_AFTER + 0.5 for _m, since in self.pull_errors.values()
            ) or self._start_error_shown(now):
                busy = True
                self._publish()
            pod.step(BUSY_TICK if busy else IDLE_TICK)
            if pod.lost is not None:
                self.config_error = f"the pod supervisor died: {pod.lost}"
                return
            st = pod.status
            regular = [i for i in self.infos if i.kind == REGULAR]
            if self._start_error_shown(now):
                continue  # the runtime is still "trying" a command that cannot start
            if policy == "Never" and self._failed_init():
                return  # a failed init container fails the pod
            if (
                policy != "Always"
                and all(st[i.name].state == TERMINATED for i in regular)
                and not any(i.name in pod.restart_at for i in regular)
            ):
                return  # every regular container has exited: the pod is done

    def _start_error_shown(self, now: float) -> bool:
        """A container failed to start so recently that the pod still shows it Pending."""
        pod = self.pod
        return pod is not None and any(
            cs.state == TERMINATED
            and cs.reason == "StartError"
            and now < (cs.finished_at or 0.0) + START_TRIES + START_ERROR_PENDING
            for cs in pod.status.values()
        )

    def _on_event(self, event: dict[str, Any]) -> None:
        """A container run ended: note where its log ends (the kubelet keeps one per run);
        and record the Event a kubelet would for what happened."""
        kind, name = event.get("event"), str(event.get("container") or "")
        if kind in ("exited", "error") and name:
            self._mark_log_end(name)
        if not name:
            return
        if kind == "started":
            self._tell_started(name)
        elif kind == "unhealthy" or kind == "unready":
            self._tell(name, "Warning", "Unhealthy", str(event.get("message", "")))
        elif kind == "killing":
            self._tell(name, "Normal", "Killing", str(event.get("message", "")))
        elif kind == "stop-signal":
            self._tell_once(name, "stop", "Normal", "Killing", f"Stopping container {name}")
        elif kind == "exited":
            if event.get("reason") == "StartError":
                text = runtime_message(str(event.get("message") or ""))
                self._tell(name, "Warning", "Failed", f"Error: {text}")
            pod = self.pod
            due = pod.restart_at.get(name) if pod is not None else None
            if due is not None and due - time.time() > 0.5:
                self._tell(
                    name,
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {name} in pod"
                    f" {self.name}_{self.namespace}({self.uid})",
                )

    def _restart_delay(self, count: int) -> float:
        """The kubelet's crash back-off: restart at once, then ``first`` doubling to ``most``."""
        first, most = self.node.crash_backoff
        return 0.0 if count == 0 else min(most, first * 2 ** (count - 1))

    # -- status --------------------------------------------------------------------------
    def _container(self, info: ContainerInfo, initialized: bool) -> dict[str, Any]:
        name = info.name
        pod = self.pod
        cs = pod.status.get(name) if pod is not None else None
        if cs is not None and cs.restart_count > self.known_restarts.get(name, 0):
            self.known_restarts[name] = cs.restart_count
            if name in self.term_seen:
                self.last_state[name] = self.term_seen[name]
        out: dict[str, Any] = {
            "name": name,
            "image": str(info.spec.get("image", "")),
            "imageID": "",
            "ready": False,
            "restartCount": cs.restart_count if cs else 0,
            "started": False,
            "lastState": {"terminated": self.last_state[name]} if name in self.last_state else {},
        }
        cid = f"podtask://{self.uid}-{name}-{cs.restart_count if cs else 0}"
        if cs is not None and cs.state in (RUNNING, TERMINATED):  # created: what it has
            out["resources"] = {
                k: v
                for k, v in (info.spec.get("resources") or {}).items()
                if k in ("limits", "requests")
            }
            out["volumeMounts"] = [
                {
                    "name": m.get("name"),
                    "mountPath": m.get("mountPath"),
                    **({"readOnly": True} if m.get("readOnly") else {}),
                    "recursiveReadOnly": "Disabled",
                }
                for m in info.spec.get("volumeMounts") or []
            ]
        waiting: dict[str, Any]
        if cs is not None and cs.state == RUNNING:
            out.update(
                state={"running": {"startedAt": ts(cs.started_at)}},
                ready=cs.ready and info.kind != INIT,  # an init container is ready once done
                started=pod is not None and name not in pod.startup,
                containerID=cid,
                imageID=f"podtask-local://{out['image']}",
            )
            return out
        if (
            cs is not None
            and cs.state == TERMINATED
            and cs.reason == "StartError"
            and not self.terminal
            and time.time() < (cs.finished_at or 0.0) + START_TRIES
        ):
            out["state"] = {"waiting": {"reason": "ContainerCreating"}}  # the runtime tries
            return out
        if cs is not None and cs.state == TERMINATED:
            term: dict[str, Any] = {
                "exitCode": cs.exit_code if cs.exit_code is not None else 128,
                "reason": cs.reason or "Error",
                "startedAt": ts(cs.started_at or cs.finished_at),
                "finishedAt": ts(cs.finished_at),
                "containerID": cid,
            }
            if cs.signal:
                term["signal"] = cs.signal
            message = cs.message  # with the termination message, read by the local engine
            if message and cs.reason == "StartError":
                message = runtime_message(message)
            if message:
                term["message"] = message
            self.term_seen[name] = term
            if pod is not None and name in pod.restart_at:
                out["lastState"] = {"terminated": term}
                msg = (
                    f"back-off restarting failed container={name}"
                    f" pod={self.name}_{self.namespace}({self.uid})"
                )
                out["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": msg}}
                return out
            out.update(state={"terminated": term}, containerID=cid)
            out["imageID"] = f"podtask-local://{out['image']}"
            out["ready"] = info.kind == INIT and term["exitCode"] == 0
            return out
        if self.terminal and self.stop_grace is not None:
            # Stopped (deleted, evicted, over its deadline) before it ever ran.
            out["state"] = {
                "terminated": {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "message": "The container could not be located when the pod was terminated",
                    "startedAt": None,
                    "finishedAt": None,
                }
            }
            return out
        if self.config_error is not None:
            waiting = {"reason": "CreateContainerConfigError", "message": self.config_error}
        elif self.not_ready is not None and self.not_ready.container in (None, name):
            waiting = {"reason": self.not_ready.reason}
            if self.not_ready.reason != "ContainerCreating":  # the kubelet says why in events
                waiting["message"] = self.not_ready.message
        elif name in self.pull_errors:
            message, since = self.pull_errors[name]
            if time.time() - since < PULL_BACKOFF_AFTER:
                waiting = {"reason": "ErrImagePull", "message": message}
            else:
                back_off = f'Back-off pulling image "{out["image"]}"'
                waiting = {"reason": "ImagePullBackOff", "message": back_off}
        elif info.kind != REGULAR or not initialized:
            waiting = {"reason": "PodInitializing"}
        else:
            waiting = {"reason": "ContainerCreating"}
        out["state"] = {"waiting": waiting}
        return out

    def _condition(
        self, ctype: str, ok: bool, reason: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        status = "True" if ok else "False"
        prev = self.conditions.get(ctype)
        when = prev[1] if prev is not None and prev[0] == status else ts()
        self.conditions[ctype] = (status, when)
        out: dict[str, Any] = {
            "type": ctype,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": when,
        }
        if reason:
            out["reason"] = reason
        if message:
            out["message"] = message
        return out

    def build_status(self) -> dict[str, Any]:
        with self.lock:
            return self._build_status()

    def _build_status(self) -> dict[str, Any]:
        pod = self.pod
        st = pod.status if pod is not None else {}
        not_init = [
            i.name
            for i in self.infos
            if i.kind != REGULAR and (pod is None or not pod.initialized(i.name))
        ]
        initialized = not not_init or any(
            i.kind == REGULAR and st.get(i.name) and st[i.name].state != "waiting"
            for i in self.infos
        )
        non_regular = [i for i in self.infos if i.kind != REGULAR]
        inits = [self._container(i, initialized) for i in non_regular]
        regular = [self._container(i, initialized) for i in self.infos if i.kind == REGULAR]
        phase = pod_phase(
            self.spec,
            {c["name"]: c for c in inits},
            {c["name"]: c for c in regular},
            terminal=self.terminal,
        )
        # A StartError is shown, but the pod stays Pending a little longer (its Ready
        # condition already says PodFailed), as a real kubelet reports it.
        failing = (
            phase == "Failed"
            and not self.terminal
            and pod is not None
            and self._start_error_shown(time.time())
        )
        if failing:
            phase = "Pending"
        reason = message = None
        if self.stop_reason is not None and self.stop_reason[0] in ("Evicted", "DeadlineExceeded"):
            reason, message = self.stop_reason
            if self.terminal:
                phase = "Failed"
        done = phase in ("Succeeded", "Failed")
        sidecars = {i.name for i in non_regular if i.kind == NATIVE_SIDECAR}
        unready = [
            c["name"]
            for c in [*regular, *(c for c in inits if c["name"] in sidecars)]
            if not c["ready"]
        ]
        conds = []
        if reason == "Evicted" and self.disruption is None:
            self.disruption = ("TerminationByKubelet", message or "")
        if self.disruption is not None:
            conds.append(self._condition("DisruptionTarget", True, *self.disruption))
        conds.append(self._condition("PodReadyToStartContainers", pod is not None and not done))
        ready_reason: str | None = None
        ready_message: str | None = None
        if done or failing:
            why = "PodCompleted" if phase == "Succeeded" else "PodFailed"
            init_ok, init_reason = not self._failed_init(), why if why == "PodCompleted" else None
            ready, ready_reason = False, why
        else:
            init_ok, init_reason, ready = initialized, None, not unready
            if unready:
                ready_reason = "ContainersNotReady"
                ready_message = f"containers with unready status: [{' '.join(unready)}]"
        if not init_ok:
            init_reason = "ContainersNotInitialized"
        incomplete = f"containers with incomplete status: [{' '.join(not_init)}]"
        conds.append(
            self._condition("Initialized", init_ok, init_reason, None if init_ok else incomplete)
        )
        for ctype in ("Ready", "ContainersReady"):
            conds.append(self._condition(ctype, ready, ready_reason, ready_message))
        conds.append(self._condition("PodScheduled", True))
        status: dict[str, Any] = {
            "phase": phase,
            "conditions": conds,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": ts(self.start_time),
            "containerStatuses": regular,
        }
        if inits:
            status["initContainerStatuses"] = inits
        if reason:
            status["reason"], status["message"] = reason, message
        return status

    def _failed_init(self) -> bool:
        st = self.pod.status if self.pod is not None else {}
        return any(
            i.kind == INIT
            and i.name in st
            and st[i.name].state == TERMINATED
            and st[i.name].exit_code != 0
            for i in self.infos
        )

    def _setup_failed(self, work_dir: str | Path, exc: Exception) -> None:
        """The pod cannot start: report it (CreateContainerConfigError) until it is deleted."""
        shutil.rmtree(work_dir, ignore_errors=True)
        self.config_error = str(exc)
        self._publish()
        self._wait_for_stop()
        self._finish()

    def _bridge_api(self) -> None:
        """Once the pod's sandbox exists, serve the API inside its network namespace."""
        sb = self.sb
        pid = getattr(sb, "_podinit_pid", None) if sb is not None else None
        if self.node.serve_api is None or not self.node.isolate or self.bridged or not pid:
            return
        self.bridged = True
        try:
            sock = podnet.listen_in(int(pid), self.api_port)
        except OSError as exc:
            self.bridge_error = f"no API in the pod's network: {exc}"
            return
        with self.lock:
            if self.finished.is_set():
                sock.close()
                return
            self.bridge = podnet.Bridge(sock, self.node.serve_api)

    def _publish(self) -> None:
        self._bridge_api()
        status = self.build_status()
        if (
            not self.node.sink(self.namespace, self.name, self.uid, status)
            and self.stop_grace is None
        ):
            # The object is gone (deleted with grace 0): stop at once, as the kubelet does.
            self.request_stop(0.0)


@dataclasses.dataclass(kw_only=True, eq=False)
class Kubelet:
    """The node: admits pods, stops them, and tears everything down at the end.

    Its settings are the server's; each ``PodWorker`` reads them from here.
    """

    state_dir: Path
    sink: StatusSink
    pull_check: PullCheck
    node_name: str
    on_finished: Callable[[PodWorker], None]
    lookup: podprep.Lookup
    api_port: Callable[[], int]
    token: str  # what the service-account volume holds
    crash_backoff: tuple[float, float] = CRASH_BACKOFF
    serve_api: Callable[[socket.socket, Any], None] | None = None  # a connection in a pod
    host_files: bool = True  # the server says its pods share this machine's files
    record: EventSink = _no_events

    def __post_init__(self) -> None:
        self.log_times = logtimes.LogTimes()
        self.isolate = namespaces_available() is None
        self.workers: dict[str, PodWorker] = {}  # uid -> worker
        self.lock = threading.Lock()
        self.closed = False
        self._log_watcher: logtimes.Watcher | None = None

    def admit(self, pod: dict[str, Any]) -> PodWorker | None:
        worker = PodWorker(pod, self)
        with self.lock:
            if self.closed:
                return None
            self.workers[worker.uid] = worker
            if self._log_watcher is None:
                self._log_watcher = logtimes.Watcher(self.log_times, self._running_logs)
                self._log_watcher.start()
        worker.start()
        return worker

    def _running_logs(self) -> list[Path]:
        with self.lock:
            workers = [w for w in self.workers.values() if not w.finished.is_set()]
        return [w.log_path(i.name) for w in workers for i in w.infos]

    def worker(self, uid: str) -> PodWorker | None:
        with self.lock:
            return self.workers.get(uid)

    def forget(self, uid: str) -> None:
        """Drop a finished pod's worker and logs (its API object is gone)."""
        with self.lock:
            worker = self.workers.pop(uid, None)
        if worker is not None:
            shutil.rmtree(worker.log_dir, ignore_errors=True)
            self.log_times.forget(worker.log_dir)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Kill every pod (grace 0) and wait until their processes and sandboxes are gone."""
        with self.lock:
            self.closed = True
            workers = list(self.workers.values())
        if self._log_watcher is not None:
            self._log_watcher.close()
        for w in workers:
            w.request_stop(0.0, shutdown=True)
        deadline = time.monotonic() + timeout
        for w in workers:
            w.thread.join(max(0.1, deadline - time.monotonic()))
