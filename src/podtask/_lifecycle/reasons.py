"""The reason words a verdict can carry, the waiting reasons that matter, and exit-code helpers.

The words are Kubernetes' own where Kubernetes has one (``Completed``,
``OOMKilled``, ``ImagePullBackOff``, ...) so that a user who knows ``kubectl``
reads podtask's output without a glossary, and podtask's own where it decides
something Kubernetes does not (``SidecarFailed``, ``PodDeleted``, ``Stopped``).
Engines use the helpers below to turn what they saw (a wait status, a podman
exit code) into the same words the kubelet would have written.
"""

from __future__ import annotations

import signal as _signal

# Verdict reasons: the outcome of the task.
COMPLETED = "Completed"
ERROR = "Error"
OOM_KILLED = "OOMKilled"
INTERRUPTED = "Interrupted"  # preemption, node shutdown, taint manager: not the user's fault
EVICTED = "Evicted"
TIMEOUT = "Timeout"
ABORTED = "Aborted"
POD_DELETED = "PodDeleted"
POD_FAILED = "PodFailed"  # the pod failed and said no more than that
STOPPED = "Stopped"  # podtask stopped the primary and was not told why (an engine bug)
SIDECAR_FAILED = "SidecarFailed"
INIT_CONTAINER_FAILED = "InitContainerFailed"
CONTAINER_STATUS_UNKNOWN = "ContainerStatusUnknown"  # kubelet lost the container (node trouble)
UNHEALTHY = "Unhealthy"  # the kubelet's event reason when a probe fails

# Verdict reasons: the task has not ended yet.
PENDING = "Pending"
UNSCHEDULABLE = "Unschedulable"
INITIALIZING = "Initializing"
RUNNING = "Running"

# Waiting reasons of a container.
CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
CREATE_CONTAINER_ERROR = "CreateContainerError"
INVALID_IMAGE_NAME = "InvalidImageName"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"

#: Waiting on an image pull: normal for a while, a (retryable) failure after the grace period.
IMAGE_PULL_REASONS = frozenset({ERR_IMAGE_PULL, IMAGE_PULL_BACK_OFF})
#: Waiting reasons that no amount of waiting fixes: the spec or the image reference is wrong.
PERMANENT_WAITING_REASONS = frozenset(
    {
        CREATE_CONTAINER_CONFIG_ERROR,
        CREATE_CONTAINER_ERROR,
        INVALID_IMAGE_NAME,
        ERR_IMAGE_NEVER_PULL,
    }
)

# Pod-level reasons and DisruptionTarget condition reasons.
POD_SHUTDOWN_REASONS = frozenset({"Shutdown", "NodeShutdown", "Terminated"})
POD_PREEMPTION_REASONS = frozenset({"Preempting"})
POD_EVICTED = "Evicted"
POD_DEADLINE_EXCEEDED = "DeadlineExceeded"  # spec.activeDeadlineSeconds expired
DISRUPTION_TARGET = "DisruptionTarget"
EVICTION_BY_API = "EvictionByEvictionAPI"

#: The signals a stop sends: SIGTERM then SIGKILL (ours, the kubelet's, a node shutdown), and
#: SIGINT (a Ctrl-C that reached a local process).
STOP_SIGNALS = frozenset({int(_signal.SIGTERM), int(_signal.SIGKILL), int(_signal.SIGINT)})
#: Signals whose ``256 - sig`` form (a wrapper passing on a child's negative return code) is
#: common enough to recognise: Flyte reads 247 as SIGKILL.
_WRAPPED_SIGNALS = frozenset({int(_signal.SIGTERM), int(_signal.SIGKILL)})


def probe_kill_message(container: str, probe: str, *, restarted: bool) -> str:
    """The kubelet's Killing event when a failed probe (``liveness``, ``startup``) kills."""
    text = f"Container {container} failed {probe} probe"
    return f"{text}, will be restarted" if restarted else text


def exit_code_for_signal(sig: int) -> int:
    """The exit code a shell or container runtime reports for a process killed by ``sig``.

    Engines that see a raw wait status (the local engine) use it so that their
    exit codes match what podman and the kubelet report (137 for SIGKILL).
    """
    if not 1 <= sig <= 127:
        raise ValueError(f"not a signal number: {sig}")
    return 128 + sig


def stop_signal(exit_code: int | None, signal: int | None) -> int | None:
    """The stop signal (SIGTERM, SIGKILL, SIGINT) that ended a container, or None.

    Accepts the signal itself, ``128 + sig`` (143, 137, 130: shells and
    runtimes) and, for SIGTERM and SIGKILL, ``256 - sig`` (241, 247: a wrapper
    that passed on a child's negative return code), since all of them reach us
    in practice.
    """
    if signal is not None:
        return signal if signal in STOP_SIGNALS else None
    if exit_code is None:
        return None
    for sig in sorted(STOP_SIGNALS):
        if exit_code == 128 + sig or (sig in _WRAPPED_SIGNALS and exit_code == 256 - sig):
            return sig
    return None


def terminated_reason(exit_code: int | None, signal: int | None, oom: bool) -> str:
    """The kubelet's word for how a container ended, for engines that only see an exit.

    OOM wins over the exit code because a kernel OOM kill shows up as a plain
    SIGKILL; an unknown ending is an ``Error`` rather than a guess of success.
    """
    if oom:
        return OOM_KILLED
    if exit_code == 0 and signal is None:
        return COMPLETED
    return ERROR


def signal_name(sig: int) -> str:
    """``SIGKILL`` for 9; the bare number for signals this platform does not name."""
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


__all__ = [
    "ABORTED",
    "COMPLETED",
    "CONTAINER_CREATING",
    "CONTAINER_STATUS_UNKNOWN",
    "CRASH_LOOP_BACK_OFF",
    "CREATE_CONTAINER_CONFIG_ERROR",
    "CREATE_CONTAINER_ERROR",
    "DISRUPTION_TARGET",
    "ERROR",
    "ERR_IMAGE_NEVER_PULL",
    "ERR_IMAGE_PULL",
    "EVICTED",
    "EVICTION_BY_API",
    "IMAGE_PULL_BACK_OFF",
    "IMAGE_PULL_REASONS",
    "INITIALIZING",
    "INIT_CONTAINER_FAILED",
    "INTERRUPTED",
    "INVALID_IMAGE_NAME",
    "OOM_KILLED",
    "PENDING",
    "PERMANENT_WAITING_REASONS",
    "POD_DEADLINE_EXCEEDED",
    "POD_DELETED",
    "POD_EVICTED",
    "POD_FAILED",
    "POD_INITIALIZING",
    "POD_PREEMPTION_REASONS",
    "POD_SHUTDOWN_REASONS",
    "RUNNING",
    "SIDECAR_FAILED",
    "STOPPED",
    "STOP_SIGNALS",
    "TIMEOUT",
    "UNSCHEDULABLE",
    "exit_code_for_signal",
    "signal_name",
    "stop_signal",
    "terminated_reason",
]
