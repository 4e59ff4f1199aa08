"""One podtask attempt over the pod driver: decide, tear down, settle.

The engines that run containers themselves end a pod when the podtask
*primary* is done (``_lifecycle.decide`` says when), not when every container
has exited as a kubelet does; this is that loop, written once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from podtask._lifecycle import TERMINATED, TaskPhase, Verdict, decide, settle
from podtask._run import AttemptContext, AttemptOutcome
from podtask.engines._kubelet.driver import PodDriver
from podtask.engines._kubelet.port import ContainerRef, Runtime

TICK = 0.05  # longest wait between checks of Ctrl-C and the deadline


def run_attempt(
    ctx: AttemptContext,
    runtime: Runtime,
    containers: Sequence[ContainerRef],
    *,
    after_teardown: Callable[[PodDriver], None] = lambda _driver: None,
) -> AttemptOutcome:
    """Drive the pod to a verdict, tear it down, and settle what the teardown showed."""
    driver = PodDriver(
        runtime,
        containers,
        primary=ctx.primary,
        attempt=ctx.attempt,
        grace=ctx.grace,
        managed_sidecars=ctx.sidecar_mode == "managed",
        on_status=ctx.on_status,
        on_event=ctx.on_event,
        notice=ctx.notice,
        hurry=ctx.hurry,
    )
    verdict = _until_verdict(ctx, driver)
    primary_done = driver.status[ctx.primary].state == TERMINATED
    driver.teardown(ctx.grace, include_primary=not primary_done)
    after_teardown(driver)
    if driver.lost is None:
        verdict = settle(verdict, driver.pod_status, sidecar_failure=ctx.sidecar_failure)
    return AttemptOutcome(
        verdict=verdict,
        containers=tuple(driver.status.values()),
        stop_signal_at=dict(driver.stop_at),
    )


def _until_verdict(ctx: AttemptContext, driver: PodDriver) -> Verdict:
    while True:
        driver.step(TICK)
        if driver.lost is not None:
            return Verdict(TaskPhase.FAILED, "PodLost", driver.lost, retryable=True, system=True)
        timed_out = ctx.deadline is not None and time.monotonic() >= ctx.deadline
        verdict = decide(
            driver.pod_status(timed_out=timed_out, aborted=ctx.cancel.is_set()),
            sidecar_failure=ctx.sidecar_failure,
        )
        if verdict.terminal:
            return verdict


def mark_attempt_in_logs(ctx: AttemptContext, names: Iterable[str]) -> None:
    """From the second attempt on, each container log says where the new attempt begins."""
    if ctx.attempt <= 1:
        return
    for name in names:
        with open(ctx.run_dir.log_path(name), "a") as f:
            f.write(f"----- podtask: attempt {ctx.attempt} -----\n")
