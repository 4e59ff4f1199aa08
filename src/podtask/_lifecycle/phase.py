"""What a pod's status means for the task: the one decision every engine shares.

The local, podman and kubernetes engines each adapt what they can see into a
``PodStatus`` and call ``decide``; none of them interprets container states on
its own, so a task that fails on a laptop fails for the same reason, with the
same words, on a cluster.

The starting point is the table Flyte's executor uses (the primary container
decides; image pulls get a grace period; config errors are permanent), with
its weak spots fixed:

- a sidecar's crash or bad image is reported as the *sidecar's* problem and
  never blamed on the primary; whether it fails the task is a policy
  (``sidecar_failure``), not an accident of which container Kubernetes
  reported first;
- the exit code a sidecar gets when it is stopped after the primary ended
  (143, 137) is not a failure, and is not even reported;
- a primary killed by preemption, eviction or node shutdown is a retryable
  system failure, not the user's fault;
- a primary whose status has not appeared yet is still starting, never failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from podtask._errors import SpecError
from podtask._lifecycle import reasons as r
from podtask._lifecycle.status import (
    INIT,
    NATIVE_SIDECAR,
    REGULAR,
    RUNNING,
    TERMINATED,
    WAITING,
    ContainerStatus,
    PodCondition,
    PodStatus,
    TaskPhase,
    Verdict,
)

#: The accepted values of ``decide(sidecar_failure=...)``.
SIDECAR_POLICIES = ("ignore", "fail")


def decide(
    status: PodStatus,
    *,
    sidecar_failure: str = "ignore",
    image_pull_grace: float = 180.0,
) -> Verdict:
    """Say what ``status`` means for the task: its phase, a reason word and a message.

    ``sidecar_failure`` is ``"ignore"`` (sidecar trouble is reported in
    ``Verdict.sidecar_issues`` and the primary alone decides) or ``"fail"``
    (sidecar trouble fails the task with ``SidecarFailed``).
    ``image_pull_grace`` is how many seconds an image pull may keep failing
    (``now - pending_since``) before the task gives up on it.

    The first rule that applies wins; the order is the precedence:

    1. The primary terminated on its own: its result is known, so it beats
       everything after it. Exit 0 is ``Completed`` whatever the sidecars did
       (but with ``"fail"``, a sidecar that failed *before* the primary ended
       makes it ``SidecarFailed``, so the verdict does not depend on how often
       the engine looked); exit 0 also beats an ``OOMKilled`` reason (a child
       process was killed, the function still returned). ``OOMKilled`` is
       retryable; ``ContainerStatusUnknown`` (the kubelet lost the container)
       is a retryable system failure. A primary killed by
       SIGTERM/SIGKILL/SIGINT, or stopped by us, is blamed on whatever stopped it:
       the timeout, the abort, an external delete, or a disruption
       (``Evicted`` / ``Interrupted``, retryable system failures); otherwise it
       is a plain failure like any other non-zero exit (``Error``, or the
       engine's own reason such as ``StartError``).
    2. ``timed_out`` (``Timeout``, retryable), then ``aborted`` (``Aborted``),
       then ``deleted`` (``PodDeleted``, retryable system failure).
    3. Pod phase ``Succeeded``: the kubelet says every container exited 0.
    4. An init container failed, or cannot start: ``InitContainerFailed``.
    5. Pod phase ``Failed`` with no exit from the primary: ``DeadlineExceeded``
       is ``Timeout``; an eviction, preemption or node shutdown is
       ``Evicted`` / ``Interrupted``; anything else is the pod's reason (or
       ``PodFailed``), retryable and not the user's fault, because the user's
       code never reported an outcome.
    6. The primary cannot start: a permanent waiting reason
       (``InvalidImageName``, ``CreateContainerConfigError``, ...), a
       ``CrashLoopBackOff``, or an image pull failing for longer than the grace
       (``ImagePullBackOff``, retryable system failure).
    7. With ``"fail"``, any sidecar issue: ``SidecarFailed``.
    8. A native sidecar that cannot start blocks the primary for good (the
       kubelet starts regular containers only after every native sidecar has
       started), so even with ``"ignore"`` it is ``SidecarFailed``.
    9. Not scheduled: ``QUEUED`` with the scheduler's reason and message.
    10. Otherwise the task is on its way: ``RUNNING`` when the primary runs (or
        the pod runs and the primary has no status yet), else ``INITIALIZING``.

    Raises ``SpecError`` for an unknown ``sidecar_failure``, a negative grace,
    or a primary that is not one of ``status.spec_containers`` (compile should
    have caught that; waiting would never end).
    """
    _check(status, sidecar_failure, image_pull_grace)
    facts = _gather(status, sidecar_failure, image_pull_grace)
    verdict = next((v for rule in _RULES if (v := rule(facts)) is not None), None)
    if verdict is None:
        verdict = _rule_still_going(facts)
    return replace(verdict, sidecar_issues=tuple(i.text for i in facts.issues))


def describe_verdict(verdict: Verdict) -> str:
    """One line for the CLI and logs: phase, reason, flags, message and sidecar issues.

    Container messages can span lines (Kubernetes puts stack traces there), so
    all whitespace is collapsed: one verdict is one line in a log.
    """
    flags = [
        name for name, on in (("retryable", verdict.retryable), ("system", verdict.system)) if on
    ]
    text = f"{verdict.phase.value} {verdict.reason}"
    if flags:
        text += f" [{', '.join(flags)}]"
    if verdict.message:
        text += f": {verdict.message}"
    # A SidecarFailed message already carries its issues: say each one once.
    extra = [i for i in verdict.sidecar_issues if i not in verdict.message]
    if extra:
        noun = "issue" if len(extra) == 1 else "issues"
        text += f" ({len(extra)} sidecar {noun}: {'; '.join(extra)})"
    return " ".join(text.split())


# ---------------------------------------------------------------------------
# Facts gathered once, then read by the rules.


@dataclass(frozen=True)
class _Issue:
    """A sidecar problem, with what a retry could do about it."""

    text: str
    retryable: bool = False
    system: bool = False
    blocks_primary: bool = False  # a native sidecar that cannot start: the primary never will


@dataclass(frozen=True)
class _Facts:
    status: PodStatus
    primary: ContainerStatus | None
    waited: float | None  # seconds since pending_since, when both times are known
    grace: float
    disruption: str | None  # r.EVICTED / r.INTERRUPTED when the pod is being disrupted
    issues: tuple[_Issue, ...]
    fail_on_sidecars: bool

    @property
    def name(self) -> str:
        return self.status.primary

    @property
    def pull_expired(self) -> bool:
        return self.waited is not None and self.waited > self.grace

    @property
    def primary_started(self) -> bool:
        return self.primary is not None and self.primary.state in (RUNNING, TERMINATED)


def _check(status: PodStatus, sidecar_failure: str, image_pull_grace: float) -> None:
    if sidecar_failure not in SIDECAR_POLICIES:
        raise SpecError(
            f"unknown sidecar failure policy {sidecar_failure!r}",
            field="sidecar_failure",
            hint="use 'ignore' or 'fail'",
        )
    if not image_pull_grace >= 0:  # also rejects NaN
        raise SpecError(
            f"must be a number of seconds >= 0, got {image_pull_grace!r}",
            field="image_pull_grace",
        )
    if status.primary not in status.spec_containers:
        known = ", ".join(repr(n) for n in status.spec_containers) or "none"
        raise SpecError(
            f"primary container {status.primary!r} is not among the pod's containers ({known})",
            field="primary_container_name",
            hint="name one of spec.containers, or let podtask add the primary",
        )


def _gather(status: PodStatus, policy: str, grace: float) -> _Facts:
    primary = _find_primary(status)
    waited = None
    if status.now is not None and status.pending_since is not None:
        waited = max(0.0, status.now - status.pending_since)
    disruption = _disruption(status)
    issues = tuple(
        issue
        for c in status.containers
        if _is_sidecar(c, status.primary)
        for issue in [_sidecar_issue(c, status, primary, waited, grace, disruption)]
        if issue is not None
    )
    return _Facts(
        status=status,
        primary=primary,
        waited=waited,
        grace=grace,
        disruption=disruption,
        issues=issues,
        fail_on_sidecars=policy == "fail" and bool(issues),
    )


def _find_primary(status: PodStatus) -> ContainerStatus | None:
    # Kubernetes forbids an init container named like a regular one, but an
    # engine's adapter might not: prefer the regular container.
    named = [c for c in status.containers if c.name == status.primary]
    regular = [c for c in named if c.kind == REGULAR]
    found = regular or named
    return found[0] if found else None


def _condition(status: PodStatus, kind: str) -> PodCondition | None:
    for cond in status.conditions:
        if cond.type == kind:
            return cond
    return None


def _disruption(status: PodStatus) -> str | None:
    """``Evicted`` or ``Interrupted`` when the pod is being taken away from the task."""
    target = _condition(status, r.DISRUPTION_TARGET)
    disrupted = target is not None and target.status == "True"
    if status.reason == r.POD_EVICTED or (
        disrupted and target and target.reason == r.EVICTION_BY_API
    ):
        return r.EVICTED
    if disrupted or status.reason in r.POD_SHUTDOWN_REASONS | r.POD_PREEMPTION_REASONS:
        return r.INTERRUPTED
    return None


def _disruption_text(status: PodStatus) -> str:
    """``(NodeShutdown): msg`` or ``(DisruptionTarget: PreemptionByScheduler): msg``."""
    target = _condition(status, r.DISRUPTION_TARGET)
    cause = status.reason
    message = status.message
    if target is not None and target.status == "True":
        cause = cause or f"{r.DISRUPTION_TARGET}: {target.reason or 'unknown'}"
        message = message or target.message
    return _with_message(f"the pod was disrupted ({cause or 'unknown cause'})", message)


# ---------------------------------------------------------------------------
# Describing containers.


def _exited_ok(c: ContainerStatus) -> bool:
    if c.signal is not None:
        return False
    if c.exit_code is None:
        return c.reason == r.COMPLETED
    return c.exit_code == 0


def _ending(c: ContainerStatus) -> str:
    """How a terminated container ended, always with the exit code when there is one."""
    code = c.exit_code
    if code is None and c.signal is not None and 1 <= c.signal <= 127:
        code = r.exit_code_for_signal(c.signal)
    why = c.reason or r.terminated_reason(c.exit_code, c.signal, oom=False)
    if c.signal is not None:
        text = f"was killed by {r.signal_name(c.signal)} (exit code {code}, {why})"
    elif code is None:
        text = f"ended with an unknown exit code ({why})"
    else:
        text = f"exited with code {code} ({why})"
    return _with_message(text, c.message)


def _with_message(text: str, message: str | None) -> str:
    message = (message or "").strip()
    return f"{text}: {message}" if message else text


def _restarts(n: int) -> str:
    return f"{n} restart" if n == 1 else f"{n} restarts"


def _is_sidecar(c: ContainerStatus, primary: str) -> bool:
    return c.kind == NATIVE_SIDECAR or (c.kind == REGULAR and c.name != primary)


def _label(c: ContainerStatus) -> str:
    kinds = {NATIVE_SIDECAR: "native sidecar", INIT: "init container", REGULAR: "sidecar"}
    return f"{kinds.get(c.kind, 'container')} {c.name!r}"


def _ended_before_primary(c: ContainerStatus, primary: ContainerStatus | None) -> bool | None:
    """True/False when the order is known; None when one of the two has no end time."""
    if primary is None or primary.state != TERMINATED:
        return True
    if c.finished_at is None or primary.finished_at is None:
        return None
    return c.finished_at < primary.finished_at


def _sidecar_issue(
    c: ContainerStatus,
    status: PodStatus,
    primary: ContainerStatus | None,
    waited: float | None,
    grace: float,
    disruption: str | None,
) -> _Issue | None:
    """The sentence a user needs about one sidecar, or None when it is fine."""
    label = _label(c)
    if c.state == TERMINATED:
        if c.stopped_by_us or _exited_ok(c):
            return None
        before = _ended_before_primary(c, primary)
        if before is False:  # it reacted to the teardown that follows the primary's end
            return None
        oom = c.reason == r.OOM_KILLED
        if not oom and r.stop_signal(c.exit_code, c.signal) is not None:
            # Stopped by a teardown: ours after the primary ended, or the
            # kubelet's for a timeout, abort, delete or disruption.
            outside = status.timed_out or status.aborted or status.deleted or disruption
            if outside or before is None:
                return None
        when = " before the primary ended" if before else ""
        return _Issue(f"{label} {_ending(c)}{when}", retryable=oom)
    if c.state != WAITING:
        return None
    native = c.kind == NATIVE_SIDECAR
    if c.reason == r.CRASH_LOOP_BACK_OFF:
        text = f"{label} is in CrashLoopBackOff after {_restarts(c.restart_count)}"
        return _Issue(_with_message(text, c.message))
    if c.reason in r.PERMANENT_WAITING_REASONS:
        text = _with_message(f"{label} cannot start ({c.reason})", c.message)
        return _Issue(text, blocks_primary=native)
    if c.reason in r.IMAGE_PULL_REASONS and waited is not None and waited > grace:
        text = f"{label} cannot pull its image ({c.reason}) after {waited:.0f}s"
        return _Issue(
            _with_message(text, c.message),
            retryable=True,
            system=True,
            blocks_primary=native,
        )
    return None


# ---------------------------------------------------------------------------
# The rules, in precedence order (see ``decide``).


def _failed(reason: str, message: str, *, retryable: bool = False, system: bool = False) -> Verdict:
    return Verdict(TaskPhase.FAILED, reason, message, retryable=retryable, system=system)


def _sidecar_failed(issues: tuple[_Issue, ...], after: str = "") -> Verdict:
    # Retryable only when every issue is (a registry hiccup, an OOM): a sidecar
    # that exits 3 will exit 3 again.
    return _failed(
        r.SIDECAR_FAILED,
        "; ".join(i.text for i in issues) + after,
        retryable=all(i.retryable for i in issues),
        system=all(i.system for i in issues),
    )


def _outside_stop(f: _Facts, detail: str = "") -> Verdict | None:
    s = f.status
    if s.timed_out:
        return _failed(r.TIMEOUT, "the task's timeout expired" + detail, retryable=True)
    if s.aborted:
        return Verdict(TaskPhase.ABORTED, r.ABORTED, "the run was interrupted" + detail)
    if s.deleted:
        text = "the pod was deleted before the primary ended" + detail
        return _failed(r.POD_DELETED, _with_message(text, s.message), retryable=True, system=True)
    return None


def _rule_primary_ended(f: _Facts) -> Verdict | None:
    p = f.primary
    if p is None or p.state != TERMINATED:
        return None
    who = f"primary container {f.name!r}"
    if _exited_ok(p):
        if f.fail_on_sidecars:
            return _sidecar_failed(f.issues, f"; the {who} then completed")
        return Verdict(TaskPhase.SUCCEEDED, r.COMPLETED, f"{who} completed")
    if f.fail_on_sidecars:
        return _sidecar_failed(f.issues, f"; the {who} then {_ending(p)}")
    if p.reason == r.OOM_KILLED:
        text = f"{who} ran out of memory and {_ending(p)}"
        return _failed(r.OOM_KILLED, text, retryable=True)
    if p.unhealthy:
        # The kubelet's words: event reason Unhealthy ("Liveness probe failed: ..."), then
        # "Container X failed liveness probe" as it kills.
        text = f"{p.unhealthy.rstrip(': ')}; the {who} was killed and {_ending(p)}"
        return _failed(r.UNHEALTHY, text)
    if p.stopped_by_us or r.stop_signal(p.exit_code, p.signal) is not None:
        outside = _outside_stop(f, f"; {who} was stopped and {_ending(p)}")
        if outside is not None:
            return outside
        if f.disruption is not None:
            text = f"{who} {_ending(p)} because {_disruption_text(f.status)}"
            return _failed(f.disruption, text, retryable=True, system=True)
        if p.stopped_by_us:
            text = f"podtask stopped the {who} without recording why; it {_ending(p)}"
            return _failed(r.STOPPED, text, system=True)
    if p.reason == r.CONTAINER_STATUS_UNKNOWN:
        text = f"the kubelet lost track of the {who}; it {_ending(p)}"
        return _failed(r.CONTAINER_STATUS_UNKNOWN, text, retryable=True, system=True)
    reason = p.reason if p.reason and p.reason != r.COMPLETED else r.ERROR
    return _failed(reason, f"{who} {_ending(p)}")


def _rule_stopped_from_outside(f: _Facts) -> Verdict | None:
    return _outside_stop(f)


def _rule_pod_succeeded(f: _Facts) -> Verdict | None:
    if f.status.phase != "Succeeded":
        return None
    return Verdict(TaskPhase.SUCCEEDED, r.COMPLETED, "the pod succeeded: every container exited 0")


def _rule_init_failed(f: _Facts) -> Verdict | None:
    for c in f.status.containers:
        if c.kind != INIT:
            continue
        label = _label(c)
        if c.state == TERMINATED and not c.stopped_by_us and not _exited_ok(c):
            oom = c.reason == r.OOM_KILLED
            return _failed(r.INIT_CONTAINER_FAILED, f"{label} {_ending(c)}", retryable=oom)
        if c.state != WAITING:
            continue
        if c.reason in r.PERMANENT_WAITING_REASONS:
            text = _with_message(f"{label} cannot start ({c.reason})", c.message)
            return _failed(r.INIT_CONTAINER_FAILED, text)
        if c.reason == r.CRASH_LOOP_BACK_OFF:
            text = f"{label} is in CrashLoopBackOff after {_restarts(c.restart_count)}"
            return _failed(r.INIT_CONTAINER_FAILED, _with_message(text, c.message))
        if c.reason in r.IMAGE_PULL_REASONS and f.pull_expired:
            text = f"{label} cannot pull its image ({c.reason}) after {f.waited:.0f}s"
            return _failed(
                r.INIT_CONTAINER_FAILED,
                _with_message(text, c.message),
                retryable=True,
                system=True,
            )
    return None


def _rule_pod_failed(f: _Facts) -> Verdict | None:
    s = f.status
    if s.phase != "Failed":
        return None
    if s.reason == r.POD_DEADLINE_EXCEEDED:
        text = _with_message("the pod's activeDeadlineSeconds expired", s.message)
        return _failed(r.TIMEOUT, text, retryable=True)
    if f.disruption is not None:
        return _failed(f.disruption, _disruption_text(s), retryable=True, system=True)
    # The user's code never reported an outcome, so the pod's failure is not its fault.
    text = _with_message(
        f"the pod failed before the primary container {f.name!r} exited", s.message
    )
    return _failed(s.reason or r.POD_FAILED, text, retryable=True, system=True)


def _rule_primary_cannot_start(f: _Facts) -> Verdict | None:
    p = f.primary
    if p is None or p.state != WAITING:
        return None
    who = f"primary container {f.name!r}"
    if p.reason in r.PERMANENT_WAITING_REASONS:
        return _failed(p.reason, _with_message(f"{who} cannot start ({p.reason})", p.message))
    if p.reason == r.CRASH_LOOP_BACK_OFF:
        text = f"{who} is in CrashLoopBackOff after {_restarts(p.restart_count)}"
        return _failed(r.CRASH_LOOP_BACK_OFF, _with_message(text, p.message))
    if p.reason in r.IMAGE_PULL_REASONS and f.pull_expired:
        text = (
            f"{who} could not pull its image for {f.waited:.0f}s (grace {f.grace:.0f}s, {p.reason})"
        )
        return _failed(
            r.IMAGE_PULL_BACK_OFF, _with_message(text, p.message), retryable=True, system=True
        )
    return None


def _rule_sidecars_fail_task(f: _Facts) -> Verdict | None:
    return _sidecar_failed(f.issues) if f.fail_on_sidecars else None


def _rule_native_sidecar_blocks(f: _Facts) -> Verdict | None:
    if f.primary_started:
        return None
    blocking = tuple(i for i in f.issues if i.blocks_primary)
    if not blocking:
        return None
    return _sidecar_failed(
        blocking, f"; the primary container {f.name!r} cannot start until it does"
    )


def _rule_unschedulable(f: _Facts) -> Verdict | None:
    cond = _condition(f.status, "PodScheduled")
    if f.primary_started or cond is None or cond.status != "False":
        return None
    return Verdict(TaskPhase.QUEUED, cond.reason or r.PENDING, cond.message or "")


def _rule_still_going(f: _Facts) -> Verdict:
    s, p = f.status, f.primary
    unknown = "; pod phase Unknown: the node may be unreachable" if s.phase == "Unknown" else ""
    if p is not None and p.state == RUNNING:
        return Verdict(
            TaskPhase.RUNNING, r.RUNNING, f"primary container {f.name!r} is running{unknown}"
        )
    if p is None and s.phase == "Running":
        # flyte#4339: a status that has not appeared yet is not a failure.
        text = f"the pod is running; no status yet for the primary container {f.name!r}"
        return Verdict(TaskPhase.RUNNING, r.RUNNING, text)
    blocker = _init_blocker(s)
    if p is not None and p.reason in r.IMAGE_PULL_REASONS:
        waited = "" if f.waited is None else f" for {f.waited:.0f}s"
        text = (
            f"pulling the image of the primary container {f.name!r}{waited}"
            f" ({p.reason}; grace {f.grace:.0f}s)"
        )
        return Verdict(TaskPhase.INITIALIZING, p.reason, _with_message(text, p.message))
    reason = (p.reason if p is not None else None) or r.INITIALIZING
    text = blocker or f"waiting for the primary container {f.name!r} to start"
    return Verdict(TaskPhase.INITIALIZING, reason, text + unknown)


def _init_blocker(s: PodStatus) -> str | None:
    """What the primary is waiting for: an init container running, a native sidecar starting."""
    for c in s.containers:
        if c.kind == INIT and c.state != TERMINATED:
            state = c.reason or c.state
            return f"{_label(c)} is {state}; the primary starts after it"
        if c.kind == NATIVE_SIDECAR and not (c.state == RUNNING and c.ready):
            return f"{_label(c)} is starting; the primary starts after it"
    return None


_RULES: tuple[Callable[[_Facts], Verdict | None], ...] = (
    _rule_primary_ended,
    _rule_stopped_from_outside,
    _rule_pod_succeeded,
    _rule_init_failed,
    _rule_pod_failed,
    _rule_primary_cannot_start,
    _rule_sidecars_fail_task,
    _rule_native_sidecar_blocks,
    _rule_unschedulable,
)  # then _rule_still_going, which always decides

__all__ = ["SIDECAR_POLICIES", "decide", "describe_verdict"]


def settle(
    verdict: Verdict,
    after_teardown: Callable[..., PodStatus],
    *,
    sidecar_failure: str = "ignore",
) -> Verdict:
    """The final verdict of a failed attempt, once its pod has been torn down.

    A primary that podtask stopped (timeout, abort, a failing sidecar) only
    shows how it ended after the teardown, so the decision is taken again on
    the final statuses; the sidecar issues seen before the teardown are kept.
    ``after_teardown(timed_out=..., aborted=...)`` builds the final PodStatus.
    """
    if verdict.phase is TaskPhase.SUCCEEDED:
        return verdict
    final = decide(
        after_teardown(
            timed_out=verdict.reason == "Timeout",
            aborted=verdict.phase is TaskPhase.ABORTED,
        ),
        sidecar_failure=sidecar_failure,
    )
    if not final.terminal:
        return verdict
    return replace(final, sidecar_issues=verdict.sidecar_issues or final.sidecar_issues)
