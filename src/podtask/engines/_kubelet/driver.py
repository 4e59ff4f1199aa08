"""The one pod driver: what a kubelet does with a pod, over any ``Runtime``.

Start order is Kubernetes': init containers one by one (each must exit 0),
native sidecars (init containers with ``restartPolicy: Always``) one by one,
each gated by its startupProbe, then every regular container at once (the
primary last, since it is the one that usually waits for the others).

Probes: a startupProbe holds back readiness and liveness until it passes and
kills the container after ``failureThreshold`` failures; a readinessProbe
flips ``ready``; a livenessProbe kills the container after ``failureThreshold``
failures.  A kill for a failed probe is the kubelet's: SIGTERM, SIGKILL after
the grace period, events ``Unhealthy`` and ``Killing`` in its words; the
status says it only in ``unhealthy`` (a Pod's status never says it).

Restarts: a native sidecar that exits is started again with a doubling
back-off until teardown; regular and init containers follow the pod's
``restartPolicy`` (podtask's own pods say ``Never``).

Teardown: SIGTERM to the regular containers still running, SIGKILL when the
grace period ends, then the native sidecars in reverse start order.  A stop
signal is recorded only when the container was still running when it was
sent (its exit came after it); one that had already exited on its own keeps
its own ending.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from podtask._lifecycle import (
    INIT,
    NATIVE_SIDECAR,
    REGULAR,
    RUNNING,
    TERMINATED,
    ContainerStatus,
    PodStatus,
    observed_pod,
    running_names,
    terminated_reason,
)
from podtask._lifecycle.reasons import probe_kill_message
from podtask.engines._kubelet.port import (
    EXITED,
    LOST,
    PROBE_KINDS,
    START_ERROR,
    STARTED,
    ContainerRef,
    Runtime,
    RuntimeEvent,
    numeric_ports,
)

RESTART_BACKOFF_MAX = 10.0


def default_restart_delay(count: int) -> float:
    """Seconds before restart number ``count + 1``: short, doubling, capped (local engines)."""
    return min(RESTART_BACKOFF_MAX, 0.5 * 2.0**count)


def sigterm_ignored(name: str, command: str, pid1: bool, waited: float) -> str:
    """The one line saying why a sidecar had to be killed at the end of the grace period.

    On a cluster the runtime signals only a container's PID 1, and a PID 1 without a
    handler ignores SIGTERM: a user who tests locally should see the cost here.
    """
    what = f"its PID 1 ({command or '?'})" if pid1 else f"its main process ({command or '?'})"
    why = (
        "forwards no signals; use exec or a trap"
        if pid1
        else "ignores SIGTERM or does not exit on it"
    )
    return f"sidecar {name!r} ignored SIGTERM for {waited:.0f} s: {what} {why}"


KILL_WAIT = 10.0  # after SIGKILL: how long to wait for the runtime to report the exit
SIDECAR_STOP_MIN = 2.0  # each native sidecar gets at least this long after SIGTERM


@dataclass
class _Probe:
    spec: dict[str, Any]
    next_at: float
    successes: int = 0
    failures: int = 0

    def setting(self, key: str, default: float) -> float:
        return float(self.spec.get(key, default))


def _noop(*_args: Any) -> None:
    return None


class PodDriver:
    """One pod's containers as the kubelet sees them: statuses, probes, what to start next."""

    def __init__(
        self,
        runtime: Runtime,
        containers: Sequence[ContainerRef],
        *,
        primary: str,
        attempt: int = 1,
        grace: float = 30.0,
        managed_sidecars: bool = False,
        restart_policy: str = "Never",
        restart_delay: Callable[[int], float] | None = None,
        on_status: Callable[[tuple[ContainerStatus, ...]], None] = _noop,
        on_event: Callable[[dict[str, Any]], None] = _noop,
        notice: Callable[[str], None] = _noop,
        hurry: threading.Event | None = None,
    ) -> None:
        self.runtime = runtime
        # Set by a second Ctrl-C: every wait for a stop ends now and SIGKILL follows.
        self.hurry = hurry or threading.Event()
        self.containers = list(containers)
        self.by_name = {c.name: c for c in self.containers}
        self.primary = primary
        self.attempt = attempt
        self.grace = grace  # for kills after a failed probe; teardown takes its own
        self.managed_sidecars = managed_sidecars
        self.restart_policy = restart_policy
        self.restart_delay = restart_delay or default_restart_delay
        self.on_status, self.on_event, self.notice = on_status, on_event, notice
        self.status: dict[str, ContainerStatus] = {
            c.name: ContainerStatus(c.name, kind=c.kind) for c in self.containers
        }
        self.probes: dict[str, dict[str, _Probe]] = {kind: {} for kind in PROBE_KINDS}
        self.stop_at: dict[str, float] = {}  # container -> first stop signal (confirmed)
        self.sent: dict[str, list[tuple[str, float]]] = {}  # stop signals awaiting the exit
        self.kill_at: dict[str, float] = {}  # probe kills: SIGKILL when the grace ends
        self.unhealthy: dict[str, str] = {}  # killed for a failed probe: the Unhealthy text
        self.restart_at: dict[str, float] = {}
        self.started_order: list[str] = []
        self.main_process: dict[str, tuple[str, bool]] = {}  # name -> (command, is PID 1)
        self.next_index = 0  # next container of ``containers`` to start
        self.waiting_on: str | None = None  # init/native sidecar gating the next start
        self.tearing_down = False
        self.lost: str | None = None
        self.pending_since = time.time()
        self.held: list[dict[str, Any]] | None = None  # events of a teardown in progress

    # -- views ---------------------------------------------------------------------------
    @property
    def startup(self) -> dict[str, _Probe]:
        """Containers whose startupProbe has not passed yet."""
        return self.probes["startupProbe"]

    @property
    def busy(self) -> bool:
        """Whether something is due soon without an event (probes, restarts, kills)."""
        return any(self.probes.values()) or bool(self.restart_at or self.kill_at)

    def running(self, kinds: tuple[str, ...] = (INIT, NATIVE_SIDECAR, REGULAR)) -> list[str]:
        return running_names(self.status, kinds)

    def pod_status(self, *, timed_out: bool = False, aborted: bool = False) -> PodStatus:
        return observed_pod(
            self.primary,
            self.status,
            now=time.time(),
            timed_out=timed_out,
            aborted=aborted,
            pending_since=self.pending_since,
        )

    def _set(self, name: str, **changes: Any) -> None:
        self.status[name] = dataclasses.replace(self.status[name], **changes)
        self.on_status(tuple(self.status.values()))

    def _event(self, kind: str, name: str, at: float, **extra: Any) -> None:
        event = {"event": kind, "container": name, "attempt": self.attempt, "time": at, **extra}
        if self.held is not None:
            self.held.append(event)
        else:
            self.on_event(event)

    # -- events ----------------------------------------------------------------------------
    def step(self, timeout: float) -> None:
        """Start what may start, run due probes, then handle events for up to ``timeout``."""
        now = time.time()
        self.advance(now)
        self.run_probes(now)
        self.drain(timeout)

    def drain(self, timeout: float) -> None:
        ev = self.runtime.next_event(timeout)
        while ev is not None:
            self.handle(ev)
            ev = self.runtime.next_event(0)

    def handle(self, ev: RuntimeEvent) -> None:
        if ev.kind == LOST:
            self.lost = ev.message or "the container runtime died"
            return
        if ev.name not in self.status:
            return  # a wake-up, or a container of no interest
        if ev.kind == STARTED:
            self._started(ev.name, ev.time)
            self.main_process[ev.name] = (ev.command, ev.pid1)
        elif ev.kind in (EXITED, START_ERROR):
            self._exited(ev)

    def _started(self, name: str, at: float) -> None:
        self._set(
            name,
            state=RUNNING,
            reason=None,
            message=None,
            unhealthy=None,
            started_at=at,
            finished_at=None,
            exit_code=None,
            signal=None,
            ready=False,
        )
        c = self.by_name[name]
        if c.kind != INIT:
            for kind, table in self.probes.items():
                if (spec := c.probe(kind)) is not None:
                    table[name] = _Probe(
                        numeric_ports(c, spec), at + float(spec.get("initialDelaySeconds", 0))
                    )
        if name not in self.started_order:
            self.started_order.append(name)
        self._event(STARTED, name, at)
        if name not in self.startup and name not in self.probes["readinessProbe"]:
            self._set(name, ready=True, ready_at=at)

    def _exited(self, ev: RuntimeEvent) -> None:
        name = ev.name
        self._confirm_stops(name, ev.time)
        reason = ev.reason or terminated_reason(ev.exit_code, ev.signal, ev.oom)
        if self._stopped_by_primary(name, ev):
            self._set(name, stopped_by_us=True)
        message = ev.message
        unhealthy = self.unhealthy.pop(name, None)
        self._maybe_restart(name, ev.exit_code, ev.time)  # before the status says it ended
        self._set(
            name,
            state=TERMINATED,
            exit_code=ev.exit_code,
            signal=ev.signal,
            reason=reason,
            message=message or None,
            finished_at=ev.time,
            ready=False,
            unhealthy=unhealthy,
        )
        for table in self.probes.values():
            table.pop(name, None)
        self.kill_at.pop(name, None)
        self._event(
            EXITED,
            name,
            ev.time,
            exit_code=ev.exit_code,
            signal=ev.signal,
            reason=reason,
            message=message or unhealthy or "",
        )

    def _confirm_stops(self, name: str, exited_at: float) -> None:
        """Record the stop signals sent before this exit; forget those that came too late."""
        sent = self.sent.pop(name, [])
        confirmed = [(sig, at) for sig, at in sent if at <= exited_at]
        for sig, at in confirmed:
            self._event("stop-signal", name, at, signal=sig)
        if sent and not confirmed:
            # It had exited on its own before any signal reached it: not our stop.
            self.stop_at.pop(name, None)
            self._set(name, stopped_by_us=False)

    def _stopped_by_primary(self, name: str, ev: RuntimeEvent) -> bool:
        """In managed mode the primary's entrypoint stops the sidecars: that is our stop too."""
        return (
            self.managed_sidecars
            and name != self.primary
            and (ev.signal in (signal.SIGTERM, signal.SIGKILL) or ev.exit_code in (143, 137))
        )

    def _maybe_restart(self, name: str, exit_code: int | None, now: float) -> None:
        """Native sidecars always come back; others as the pod's restartPolicy says."""
        if self.tearing_down:
            return
        kind = self.by_name[name].kind
        policy = self.restart_policy
        if not (
            kind == NATIVE_SIDECAR
            or (policy == "Always" and kind == REGULAR)
            or (policy == "OnFailure" and exit_code != 0)
        ):
            return
        count = self.status[name].restart_count
        self.restart_at[name] = now + self.restart_delay(count)

    # -- starting --------------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Start whatever Kubernetes' start order allows now; restart what is due."""
        if self.tearing_down:
            return
        for name, at in list(self.kill_at.items()):
            if now >= at and self.status[name].state == RUNNING:
                del self.kill_at[name]
                self.runtime.signal([name], signal.SIGKILL)
        for name, at in list(self.restart_at.items()):
            if now >= at:
                del self.restart_at[name]
                self._set(name, restart_count=self.status[name].restart_count + 1)
                self.runtime.start([name])
        while self.next_index < len(self.containers):
            if self.waiting_on is not None:
                if not self.initialized(self.waiting_on):
                    return
                self.waiting_on = None
            c = self.containers[self.next_index]
            if c.kind == REGULAR:
                rest = self.containers[self.next_index :]
                self.next_index = len(self.containers)
                # Sidecars first: the primary is the one that usually waits for them.
                self.runtime.start(sorted((r.name for r in rest), key=lambda n: n == self.primary))
                return
            self.next_index += 1
            self.waiting_on = c.name
            self.runtime.start([c.name])

    def initialized(self, name: str) -> bool:
        """What Kubernetes waits for before the next container, and what a pod's
        ``Initialized`` condition counts: an init container exited 0; a native
        sidecar runs and has passed its startupProbe."""
        st = self.status[name]
        if self.by_name[name].kind == INIT:
            return st.state == TERMINATED and st.exit_code == 0
        return st.state == RUNNING and name not in self.startup

    # -- probes ------------------------------------------------------------------------------
    def run_probes(self, now: float) -> None:
        for kind, table in self.probes.items():
            for name, probe in list(table.items()):
                if self.status[name].state != RUNNING or now < probe.next_at:
                    continue
                if kind != "startupProbe" and name in self.startup:
                    continue  # the startupProbe holds the others back
                ok, output = self.runtime.probe(
                    name, probe.spec, probe.setting("timeoutSeconds", 1)
                )
                probe.next_at = now + probe.setting("periodSeconds", 10)
                probe.successes, probe.failures = (
                    (probe.successes + 1, 0) if ok else (0, probe.failures + 1)
                )
                self._probed(kind, name, probe, ok, output)

    def _probed(self, kind: str, name: str, probe: _Probe, ok: bool, output: str) -> None:
        failed = probe.failures >= probe.setting("failureThreshold", 3)
        st = self.status[name]
        if kind == "startupProbe":
            if ok:
                del self.startup[name]  # started: readiness and liveness take over
                if name not in self.probes["readinessProbe"]:
                    self._became_ready(name)
            elif failed:
                del self.startup[name]
                self._kill_unhealthy(name, "Startup", output)
        elif kind == "readinessProbe":
            if ok and not st.ready and probe.successes >= probe.setting("successThreshold", 1):
                self._became_ready(name)
            elif not ok and st.ready and failed:
                self._set(name, ready=False)
                self._event(
                    "unready", name, time.time(), message=f"Readiness probe failed: {output}"
                )
        elif failed:
            self.probes["livenessProbe"].pop(name, None)
            self._kill_unhealthy(name, "Liveness", output)

    def _became_ready(self, name: str) -> None:
        at = time.time()
        self._set(name, ready=True, ready_at=at)
        self._event("ready", name, at)

    def _kill_unhealthy(self, name: str, probe: str, output: str) -> None:
        """The kubelet's kill for a failed probe: SIGTERM now, SIGKILL after the grace."""
        c = self.by_name[name]
        restarted = c.kind == NATIVE_SIDECAR or self.restart_policy in ("Always", "OnFailure")
        killing = probe_kill_message(name, probe.lower(), restarted=restarted)
        why = f"{probe} probe failed: {output.strip()}"
        self.notice(f"{name}: {why}; {killing}")
        self._event("unhealthy", name, time.time(), reason="Unhealthy", message=why)
        self._event("killing", name, time.time(), reason="Killing", message=killing)
        # Kept beside the status, not in its message: a kubelet says it in events only.
        self.unhealthy[name] = why
        probe_grace = (c.probe(f"{probe.lower()}Probe") or {}).get("terminationGracePeriodSeconds")
        grace = float(probe_grace) if probe_grace is not None else self.grace
        self.kill_at[name] = time.time() + grace
        self.runtime.signal([name], signal.SIGTERM if grace > 0 else signal.SIGKILL)

    # -- stopping -----------------------------------------------------------------------------
    def stop(self, names: Sequence[str], deadline: float) -> None:
        """SIGTERM ``names`` now, wait for them until ``deadline`` (monotonic), then SIGKILL."""
        self.drain(0)  # what has exited already must not be signalled, nor recorded as stopped
        names = [n for n in names if self.status[n].state == RUNNING]
        if not names:
            return
        self._send(names, signal.SIGTERM)
        self.wait_for(names, deadline, graceful=True)
        left = [n for n in names if self.status[n].state == RUNNING]
        now = time.time()
        for name in [] if self.hurry.is_set() else left:
            if name != self.primary and self.main_process.get(name, ("", False))[0]:
                waited = now - self.stop_at.get(name, now)
                self.notice(sigterm_ignored(name, *self.main_process[name], waited))
        self._kill(left)

    def _kill(self, names: list[str]) -> None:
        """SIGKILL ``names`` and give the runtime a while to report their exits."""
        if names:
            self._send(names, signal.SIGKILL)
            self.wait_for(names, time.monotonic() + KILL_WAIT)

    def _send(self, names: list[str], sig: int) -> None:
        now = time.time()
        for name in names:
            self.stop_at.setdefault(name, now)
            self.sent.setdefault(name, []).append((signal.Signals(sig).name, now))
            self._set(name, stopped_by_us=True)
        self.runtime.signal(names, sig)

    def wait_for(self, names: Sequence[str], deadline: float, *, graceful: bool = False) -> None:
        while self.lost is None and any(self.status[n].state == RUNNING for n in names):
            if graceful and self.hurry.is_set():
                return  # a second Ctrl-C: the grace period is over for everyone
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.drain(min(left, 0.5))

    def kill_now(self) -> None:
        """SIGKILL everything still running (a second delete with a shorter grace)."""
        self.runtime.signal(self.running(), signal.SIGKILL)

    def teardown(self, grace: float, *, include_primary: bool = True) -> None:
        """Stop the pod in Kubernetes' order: regular containers, then native sidecars."""
        self.tearing_down = True
        self.restart_at.clear()
        self.held = []  # a stop signal is known only at the exit: emit in time order at the end
        try:
            self._stop_all(grace, include_primary=include_primary)
        finally:
            held, self.held = self.held, None
            for event in sorted(held, key=lambda e: float(e["time"])):
                self.on_event(event)

    def _stop_all(self, grace: float, *, include_primary: bool) -> None:
        if grace <= 0:
            self.drain(0)
            self._kill(self.running())
        deadline = time.monotonic() + max(grace, 0.0)
        regular = [n for n in self.running((REGULAR,)) if include_primary or n != self.primary]
        self.stop(regular, deadline)
        self.stop(self.running((INIT,)), deadline)
        for name in reversed(self.started_order):
            if self.by_name[name].kind == NATIVE_SIDECAR and self.status[name].state == RUNNING:
                self.stop([name], max(deadline, time.monotonic() + SIDECAR_STOP_MIN))
        # A container that never reported its exit: its signals were sent while it ran.
        for name in list(self.sent):
            for sig, at in self.sent.pop(name):
                self._event("stop-signal", name, at, signal=sig)
