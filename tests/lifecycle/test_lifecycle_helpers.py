"""The small helpers engines use, describe_verdict, and the package's public surface."""

from __future__ import annotations

import pytest

import podtask._lifecycle as lifecycle
import podtask._lifecycle.status as status_module
from podtask._lifecycle import (
    TaskPhase,
    Verdict,
    describe_verdict,
    exit_code_for_signal,
    signal_name,
    stop_signal,
    terminated_reason,
)


@pytest.mark.parametrize(
    ("exit_code", "signal", "oom", "expected"),
    [
        pytest.param(0, None, False, "Completed", id="exit-0"),
        pytest.param(1, None, False, "Error", id="exit-1"),
        pytest.param(None, 15, False, "Error", id="signal"),
        pytest.param(137, None, True, "OOMKilled", id="oom-137"),
        pytest.param(None, 9, True, "OOMKilled", id="oom-signal"),
        pytest.param(0, None, True, "OOMKilled", id="oom-wins-over-exit-0"),
        pytest.param(None, None, False, "Error", id="unknown-is-not-success"),
    ],
)
def test_terminated_reason(
    exit_code: int | None, signal: int | None, oom: bool, expected: str
) -> None:
    assert terminated_reason(exit_code, signal, oom) == expected


@pytest.mark.parametrize(("sig", "code"), [(9, 137), (15, 143), (2, 130), (1, 129), (127, 255)])
def test_exit_code_for_signal(sig: int, code: int) -> None:
    assert exit_code_for_signal(sig) == code


@pytest.mark.parametrize("sig", [0, -9, 128])
def test_exit_code_for_signal_rejects_non_signals(sig: int) -> None:
    with pytest.raises(ValueError, match="signal"):
        exit_code_for_signal(sig)


@pytest.mark.parametrize(
    ("exit_code", "signal", "expected"),
    [
        pytest.param(137, None, 9, id="137"),
        pytest.param(143, None, 15, id="143"),
        pytest.param(130, None, 2, id="130-sigint"),
        pytest.param(247, None, 9, id="247-wrapped-sigkill"),
        pytest.param(241, None, 15, id="241-wrapped-sigterm"),
        pytest.param(254, None, None, id="254-not-wrapped-sigint"),
        pytest.param(1, None, None, id="exit-1"),
        pytest.param(0, None, None, id="exit-0"),
        pytest.param(None, 15, 15, id="signal-15"),
        pytest.param(None, 11, None, id="segfault-is-not-a-stop"),
        pytest.param(139, None, None, id="139-segfault"),
        pytest.param(None, None, None, id="nothing-known"),
    ],
)
def test_stop_signal(exit_code: int | None, signal: int | None, expected: int | None) -> None:
    assert stop_signal(exit_code, signal) == expected


def test_signal_name() -> None:
    assert signal_name(9) == "SIGKILL"
    assert signal_name(15) == "SIGTERM"
    assert signal_name(200) == "signal 200"


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        pytest.param(
            Verdict(TaskPhase.RUNNING, "Running", "primary container 'main' is running"),
            "RUNNING Running: primary container 'main' is running",
            id="running",
        ),
        pytest.param(
            Verdict(TaskPhase.FAILED, "OOMKilled", "out of memory", retryable=True),
            "FAILED OOMKilled [retryable]: out of memory",
            id="flags",
        ),
        pytest.param(
            Verdict(TaskPhase.FAILED, "Evicted", "", retryable=True, system=True),
            "FAILED Evicted [retryable, system]",
            id="no-message",
        ),
        pytest.param(
            Verdict(TaskPhase.FAILED, "Error", "exited with code 1:\nTraceback\n  boom\n"),
            "FAILED Error: exited with code 1: Traceback boom",
            id="one-line",
        ),
        pytest.param(
            Verdict(
                TaskPhase.SUCCEEDED, "Completed", "done", sidecar_issues=("sidecar 'db' exited 3",)
            ),
            "SUCCEEDED Completed: done (1 sidecar issue: sidecar 'db' exited 3)",
            id="issue",
        ),
        pytest.param(
            Verdict(TaskPhase.RUNNING, "Running", "", sidecar_issues=("a", "b")),
            "RUNNING Running (2 sidecar issues: a; b)",
            id="issues",
        ),
        pytest.param(
            Verdict(
                TaskPhase.FAILED,
                "SidecarFailed",
                "sidecar 'db' exited 3",
                sidecar_issues=("sidecar 'db' exited 3",),
            ),
            "FAILED SidecarFailed: sidecar 'db' exited 3",
            id="issue-said-once",
        ),
    ],
)
def test_describe_verdict(verdict: Verdict, expected: str) -> None:
    assert describe_verdict(verdict) == expected


def test_public_api_is_complete() -> None:
    public = {n for n in vars(status_module) if not n.startswith("_") and n not in {"annotations"}}
    public -= {"dataclass", "field", "Enum"}
    assert public <= set(lifecycle.__all__)
    for name in lifecycle.__all__:
        assert hasattr(lifecycle, name), name


def test_settle_keeps_success_and_explains_a_stopped_primary() -> None:
    from podtask._lifecycle import (
        TERMINATED,
        ContainerStatus,
        PodStatus,
        TaskPhase,
        Verdict,
        settle,
    )

    def final(*, timed_out: bool, aborted: bool) -> PodStatus:
        return PodStatus(
            primary="p",
            spec_containers=("p",),
            containers=(
                ContainerStatus(
                    "p", state=TERMINATED, exit_code=143, signal=15, stopped_by_us=True
                ),
            ),
            timed_out=timed_out,
            aborted=aborted,
            now=10.0,
        )

    ok = Verdict(TaskPhase.SUCCEEDED, "Completed")
    assert settle(ok, final) is ok
    timeout = Verdict(TaskPhase.FAILED, "Timeout", sidecar_issues=("sidecar 's' exited 3",))
    settled = settle(timeout, final)
    assert (settled.phase, settled.reason) == (TaskPhase.FAILED, "Timeout")
    assert settled.sidecar_issues == ("sidecar 's' exited 3",)
    aborted = settle(Verdict(TaskPhase.ABORTED, "Aborted"), final)
    assert aborted.phase is TaskPhase.ABORTED
