"""podtask._lifecycle: pod status in, task phase out; pure, shared by every engine.

Engines build a ``PodStatus`` from what they see and ask ``decide`` what it
means; they never interpret container states themselves.
"""

from podtask._lifecycle import reasons
from podtask._lifecycle.phase import SIDECAR_POLICIES, decide, describe_verdict, settle
from podtask._lifecycle.reasons import (
    exit_code_for_signal,
    signal_name,
    stop_signal,
    terminated_reason,
)
from podtask._lifecycle.retry import DEFAULT_SYSTEM_RETRIES, Budget, retry_budget
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
    observed_pod,
    running_names,
)

__all__ = [
    "DEFAULT_SYSTEM_RETRIES",
    "INIT",
    "NATIVE_SIDECAR",
    "REGULAR",
    "RUNNING",
    "SIDECAR_POLICIES",
    "TERMINATED",
    "WAITING",
    "Budget",
    "ContainerStatus",
    "PodCondition",
    "PodStatus",
    "TaskPhase",
    "Verdict",
    "decide",
    "describe_verdict",
    "exit_code_for_signal",
    "observed_pod",
    "reasons",
    "retry_budget",
    "running_names",
    "settle",
    "signal_name",
    "stop_signal",
    "terminated_reason",
]
