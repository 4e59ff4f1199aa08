"""The local engine: one pod as host processes, with the pod's meaning kept.

Start order is Kubernetes': init containers one by one (each must succeed),
native sidecars (init containers with ``restartPolicy: Always``) one by one,
each gated by its startupProbe, then every regular container.  The loop then
reacts to container events; ``_lifecycle.decide`` says when the task is done.
Teardown: SIGTERM to the regular containers still running, SIGKILL when the
grace period ends, then the native sidecars in reverse start order, then the
pod supervisor and every mount, namespace and temp dir go away.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from dataclasses import dataclass
from typing import Any

from podtask._contract import bootstrap_env
from podtask._errors import InfrastructureError, SpecError
from podtask._lifecycle import (
    INIT,
    NATIVE_SIDECAR,
    REGULAR,
    RUNNING,
    TERMINATED,
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
from podtask.engines.local.cgroups import cgroups_available
from podtask.engines.local.linux import namespaces_available
from podtask.engines.local.sandbox import Event, PodSandbox
from podtask.engines.local.translate import (
    ContainerInfo,
    build_plan,
    create_host_paths,
    named_port,
)
from podtask.engines.local.workdirs import make_work_dir, sweep_stale_work_dirs

TICK = 0.05  # longest wait between checks of Ctrl-C and the deadline
RESTART_BACKOFF_MAX = 10.0


@dataclass
class _Probe:
    spec: dict[str, Any]
    next_at: float
    successes: int = 0
    failures: int = 0

    @property
    def period(self) -> float:
        return float(self.spec.get("periodSeconds", 10))

    @property
    def timeout(self) -> float:
        return float(self.spec.get("timeoutSeconds", 1))


class _Pod:
    """The engine's view of one attempt's pod: statuses, probes, what to start next."""

    def __init__(
        self, ctx: AttemptContext, sandbox: PodSandbox, infos: list[ContainerInfo]
    ) -> None:
        self.ctx = ctx
        self.sb = sandbox
        self.infos = infos
        self.status: dict[str, ContainerStatus] = {
            i.name: ContainerStatus(i.name, kind=i.kind) for i in infos
        }
        self.stop_at: dict[str, float] = {}
        self.startup: dict[str, _Probe] = {}
        self.readiness: dict[str, _Probe] = {}
        self.liveness: dict[str, _Probe] = {}
        self.restart_at: dict[str, float] = {}
        self.started_order: list[str] = []
        self.next_index = 0  # next container of ``infos`` to start
        self.waiting_on: str | None = None  # init/native sidecar gating the next start
        self.tearing_down = False
        self.lost: str | None = None
        self.pending_since = time.time()

    # -- status bookkeeping ----------------------------------------------------
    def _set(self, name: str, **changes: Any) -> None:
        self.status[name] = dataclasses.replace(self.status[name], **changes)
        self.ctx.on_status(tuple(self.status.values()))

    def handle(self, ev: Event) -> None:
        if ev.kind == "lost":
            self.lost = ev.message or "the pod supervisor died"
            return
        if ev.name not in self.status:
            return
        event: dict[str, Any] = {
            "event": ev.kind,
            "container": ev.name,
            "attempt": self.ctx.attempt,
            "time": ev.time,
        }
        if ev.kind == "started":
            self._set(
                ev.name,
                state=RUNNING,
                reason=None,
                started_at=ev.time,
                finished_at=None,
                exit_code=None,
                signal=None,
            )
            self._arm_probes(ev.name, ev.time)
            if ev.name not in self.started_order:
                self.started_order.append(ev.name)
            if not self._probe_for_ready(ev.name):
                self._set(ev.name, ready=True, ready_at=ev.time)
        elif ev.kind in ("exited", "error"):
            reason = ev.reason or terminated_reason(ev.exit_code, ev.signal, ev.oom)
            if self._stopped_by_primary(ev):
                self._set(ev.name, stopped_by_us=True)
            self._set(
                ev.name,
                state=TERMINATED,
                exit_code=ev.exit_code,
                signal=ev.signal,
                reason=reason,
                message=ev.message or None,
                finished_at=ev.time,
                ready=False,
            )
            event.update(
                exit_code=ev.exit_code, signal=ev.signal, reason=reason, message=ev.message
            )
            self._maybe_restart(ev.name, ev.time)
        self.ctx.on_event(event)

    def _stopped_by_primary(self, ev: Event) -> bool:
        """In managed mode the primary's entrypoint stops the sidecars: that is our stop too."""
        return (
            self.ctx.sidecar_mode == "managed"
            and ev.name != self.ctx.primary
            and (ev.signal in (signal.SIGTERM, signal.SIGKILL) or ev.exit_code in (143, 137))
        )

    def _probe_for_ready(self, name: str) -> bool:
        return name in self.readiness or name in self.startup

    def _arm_probes(self, name: str, now: float) -> None:
        info = self._info(name)
        for kind, table in (
            ("startupProbe", self.startup),
            ("readinessProbe", self.readiness),
            ("livenessProbe", self.liveness),
        ):
            spec = info.probe(kind)
            if spec is not None and info.kind != INIT:
                table[name] = _Probe(
                    named_port(info, spec), now + float(spec.get("initialDelaySeconds", 0))
                )

    def _info(self, name: str) -> ContainerInfo:
        return next(i for i in self.infos if i.name == name)

    def _maybe_restart(self, name: str, now: float) -> None:
        """Native sidecars are restarted when they exit, as the kubelet does, until teardown."""
        info = self._info(name)
        if info.kind != NATIVE_SIDECAR or self.tearing_down:
            return
        count = self.status[name].restart_count
        self.restart_at[name] = now + min(RESTART_BACKOFF_MAX, 0.5 * 2**count)

    # -- starting ----------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Start whatever Kubernetes' start order allows now."""
        for name, at in list(self.restart_at.items()):
            if now >= at and not self.tearing_down:
                del self.restart_at[name]
                self._set(name, restart_count=self.status[name].restart_count + 1)
                self.sb.start_container(name)
        while not self.tearing_down and self.next_index < len(self.infos):
            if self.waiting_on is not None:
                st = self.status[self.waiting_on]
                info = self._info(self.waiting_on)
                if info.kind == INIT:
                    if not (st.state == TERMINATED and st.exit_code == 0):
                        return
                elif not (st.state == RUNNING and (st.ready or info.name not in self.startup)):
                    return
                self.waiting_on = None
            info = self.infos[self.next_index]
            if info.kind == REGULAR:
                for rest in self.infos[self.next_index :]:
                    self.sb.start_container(rest.name)
                self.next_index = len(self.infos)
                return
            self.sb.start_container(info.name)
            self.waiting_on = info.name
            self.next_index += 1

    # -- probes ----------------------------------------------------------------------
    def run_probes(self, now: float) -> None:
        for name, probe in list(self.startup.items()):
            if self.status[name].state != RUNNING or now < probe.next_at:
                continue
            ok, _msg = self.sb.probe(name, probe.spec, probe.timeout)
            probe.next_at = now + probe.period
            if ok:
                del self.startup[name]  # startup done: readiness and liveness take over
                if name not in self.readiness:
                    self._set(name, ready=True, ready_at=time.time())
                    self.ctx.on_event({"event": "ready", "container": name, "time": time.time()})
                continue
            probe.failures += 1
            if probe.failures >= int(probe.spec.get("failureThreshold", 3)):
                self._kill(name, f"startup probe failed {probe.failures} times")
        for name, probe in list(self.readiness.items()):
            if self.status[name].state != RUNNING or name in self.startup or now < probe.next_at:
                continue
            ok, _msg = self.sb.probe(name, probe.spec, probe.timeout)
            probe.next_at = now + probe.period
            probe.successes, probe.failures = (
                (probe.successes + 1, 0) if ok else (0, probe.failures + 1)
            )
            st = self.status[name]
            if (
                ok
                and not st.ready
                and probe.successes >= int(probe.spec.get("successThreshold", 1))
            ):
                self._set(name, ready=True, ready_at=time.time())
                self.ctx.on_event({"event": "ready", "container": name, "time": time.time()})
            elif (
                not ok and st.ready and probe.failures >= int(probe.spec.get("failureThreshold", 3))
            ):
                self._set(name, ready=False)
        for name, probe in list(self.liveness.items()):
            if self.status[name].state != RUNNING or name in self.startup or now < probe.next_at:
                continue
            ok, _msg = self.sb.probe(name, probe.spec, probe.timeout)
            probe.next_at = now + probe.period
            probe.failures = 0 if ok else probe.failures + 1
            if probe.failures >= int(probe.spec.get("failureThreshold", 3)):
                self._kill(name, f"liveness probe failed {probe.failures} times")

    def _kill(self, name: str, why: str) -> None:
        self.ctx.notice(f"{name}: {why}; killing it")
        self._set(name, message=why)
        self.sb.signal(name, signal.SIGKILL)

    # -- deciding and stopping -------------------------------------------------------
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

    def stop(self, names: list[str], deadline: float) -> None:
        """SIGTERM ``names`` now, wait for them until ``deadline`` (monotonic), then SIGKILL."""
        for name in names:
            self.stop_at.setdefault(name, time.time())
            self._set(name, stopped_by_us=True)
            self.sb.signal(name, signal.SIGTERM)
            self.ctx.on_event(
                {
                    "event": "stop-signal",
                    "container": name,
                    "signal": "SIGTERM",
                    "time": time.time(),
                }
            )
        self._wait_for(names, deadline)
        left = [n for n in names if self.status[n].state == RUNNING]
        for name in left:
            self.sb.signal(name, signal.SIGKILL)
            self.ctx.on_event(
                {
                    "event": "stop-signal",
                    "container": name,
                    "signal": "SIGKILL",
                    "time": time.time(),
                }
            )
        self._wait_for(left, time.monotonic() + 10)

    def _wait_for(self, names: list[str], deadline: float) -> None:
        while any(self.status[n].state == RUNNING for n in names) and self.lost is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ev = self.sb.next_event(timeout=min(left, 0.5))
            if ev is not None:
                self.handle(ev)

    def teardown(self, *, include_primary: bool) -> None:
        self.tearing_down = True
        self.restart_at.clear()
        deadline = time.monotonic() + self.ctx.grace
        regular = [n for n in self.running((REGULAR,)) if include_primary or n != self.ctx.primary]
        self.stop(regular, deadline)
        self.stop(self.running((INIT,)), deadline)
        for name in reversed(self.started_order):
            if self._info(name).kind == NATIVE_SIDECAR and self.status[name].state == RUNNING:
                self.stop([name], max(deadline, time.monotonic() + 2))


class LocalEngine:
    """Pods as host processes in Linux namespaces; no daemon, nothing left behind."""

    name = "local"

    def __init__(self) -> None:
        self.namespace_problem = namespaces_available()
        self._announced = False

    def _plan(self, ctx: AttemptContext, work_dir: str) -> tuple[Any, list[ContainerInfo]]:
        return build_plan(
            ctx.manifest,
            run_id=ctx.run_id,
            primary=ctx.primary,
            work_dir=work_dir,
            log_path=ctx.run_dir.log_path,
            run_dir=ctx.run_dir.path,
            extra_env=bootstrap_env(ctx.run_id, ctx.attempt, ctx.source_root),
            isolate=self.namespace_problem is None,
        )

    def prepare(self, ctx: AttemptContext) -> None:
        for option in sorted(ctx.engine_options):
            flag = "--" + option.replace("_", "-")
            raise SpecError(
                f"{flag} does not apply to the local engine",
                field=flag,
                hint="drop it, or use --engine kubernetes",
            )
        plan, _ = self._plan(ctx, "/nonexistent-work-dir")
        if self._announced:
            return
        self._announced = True
        ctx.notice(
            "local engine: images are not pulled; each container's command runs from this host"
        )
        if self.namespace_problem:
            ctx.notice(
                f"local engine: no namespaces ({self.namespace_problem}); running plain processes"
            )
        if any(c.memory_limit_bytes for c in plan.containers):
            problem = cgroups_available()
            if problem:
                ctx.notice(f"local engine: memory limits are not enforced here ({problem})")

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        create_host_paths(ctx.manifest)
        sweep_stale_work_dirs()  # left by a podtask that was killed with kill -9
        work_dir = make_work_dir(ctx.run_id)
        plan, infos = self._plan(ctx, work_dir)
        if ctx.attempt > 1:
            for info in infos:
                with open(ctx.run_dir.log_path(info.name), "a") as f:
                    f.write(f"----- podtask: attempt {ctx.attempt} -----\n")
        try:
            sandbox = PodSandbox.start(plan)
        except InfrastructureError:
            import shutil

            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        with sandbox:
            pod = _Pod(ctx, sandbox, infos)
            verdict = self._loop(ctx, pod)
            primary_done = pod.status[ctx.primary].state == TERMINATED
            pod.teardown(include_primary=not primary_done)
            if pod.lost is None:
                verdict = settle(verdict, pod.pod_status, sidecar_failure=ctx.sidecar_failure)
            return AttemptOutcome(
                verdict=verdict,
                containers=tuple(pod.status.values()),
                stop_signal_at=dict(pod.stop_at),
            )

    def _loop(self, ctx: AttemptContext, pod: _Pod) -> Verdict:
        while True:
            now = time.time()
            pod.advance(now)
            pod.run_probes(now)
            ev = pod.sb.next_event(timeout=TICK)
            while ev is not None:
                pod.handle(ev)
                ev = pod.sb.next_event(timeout=0)
            if pod.lost is not None:
                return Verdict(TaskPhase.FAILED, "PodLost", pod.lost, retryable=True, system=True)
            timed_out = ctx.deadline is not None and time.monotonic() >= ctx.deadline
            aborted = ctx.cancel.is_set()
            try:
                verdict = decide(
                    pod.pod_status(timed_out=timed_out, aborted=aborted),
                    sidecar_failure=ctx.sidecar_failure,
                )
            except SpecError:
                raise
            if verdict.terminal:
                return verdict
