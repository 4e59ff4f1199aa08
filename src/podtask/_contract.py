"""The contract between the podtask runner and the code in the primary container.

Both sides import this module: the runner (compile, engines, the test API
server) when it shapes a pod, the entrypoint when it reads what the runner
put there.  A name written once here cannot drift between them, which is why
it holds only facts (names, defaults, shapes) and no behaviour beyond
``bootstrap_env``.  Standard library only: the entrypoint and the local
engine's pod supervisor start from it and must stay light.

``PROTOCOL_VERSION`` goes into every pod's environment; bump it when a change
here means an entrypoint from an older podtask can no longer serve the runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypedDict

PROTOCOL_VERSION = 1

# -- environment of the primary container ------------------------------------------------
ENV_PROTOCOL = "PODTASK_PROTOCOL"
ENV_RUN_ID = "PODTASK_RUN_ID"
ENV_ATTEMPT = "PODTASK_ATTEMPT"
ENV_SOURCE_ROOT = "PODTASK_SOURCE_ROOT"  # ':'-separated directories put on sys.path
ENV_CODE_URL = "PODTASK_CODE_URL"  # a shipped code bundle (remote storage)
ENV_SIDECAR_MODE = "PODTASK_SIDECAR_MODE"  # "managed": the primary stops the sidecars itself
# Set on native sidecars in managed mode: the kubelet stops them after the primary, so the
# primary's entrypoint leaves their processes alone (it would otherwise see them restarted).
ENV_KUBELET_STOPS = "PODTASK_KUBELET_STOPS"
ENV_SIDECAR_GRACE = "PODTASK_SIDECAR_GRACE"  # seconds between SIGTERM and SIGKILL in managed mode
ENV_IMAGE = "PODTASK_IMAGE"  # the default image of the primary (client side)

# -- files the entrypoint reads and writes ----------------------------------------------
INPUTS_FILE = "inputs.json"
OUTPUTS_FILE = "outputs.json"  # written last and atomically: its presence means success
ERROR_FILE = "error.json"  # the error document, when the task failed
BLOBS_DIR = "blobs"

# -- the entrypoint's command line -------------------------------------------------------
ENTRYPOINT_MODULE = "podtask.entrypoint"
ENTRYPOINT_COMMAND: tuple[str, ...] = ("python3", "-m", ENTRYPOINT_MODULE)
FLAG_TASK = "--task"
FLAG_INPUTS = "--inputs"
FLAG_OUTPUT_PREFIX = "--output-prefix"
FLAG_SOURCE_ROOT = "--source-root"
# Placeholders of the compiled template, replaced per run (Flyte's spelling).
INPUT_PLACEHOLDER = "{{.input}}"
OUTPUT_PREFIX_PLACEHOLDER = "{{.outputPrefix}}"

# -- labels and annotations on the pod --------------------------------------------------
LABEL_RUN = "podtask.io/run-id"
LABEL_ATTEMPT = "podtask.io/attempt"
ANNOTATION_PRIMARY = "podtask.io/primary-container"

# -- defaults -----------------------------------------------------------------------------
DEFAULT_GRACE = 30.0  # Kubernetes' terminationGracePeriodSeconds default
SIDECAR_MODES = ("native", "managed")

# Exit codes of the entrypoint.
EXIT_OK = 0
EXIT_TASK_ERROR = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a container stopped by SIGTERM reports


class ErrorDocument(TypedDict):
    """``error.json``: what the entrypoint says about a failed task."""

    kind: Literal["user", "spec", "system"]  # the user's code, its contract, or podtask's side
    type: str  # module-qualified exception type
    message: str
    traceback: str


class RunEvent(TypedDict, total=False):
    """One line of a run's ``events.jsonl`` (the container timeline)."""

    event: str  # attempt, started, ready, exited, stop-signal, pod-create, end, ...
    time: float  # epoch seconds
    container: str
    attempt: int
    exit_code: int | None
    signal: int | str | None
    reason: str | None
    message: str | None


def grace_of(manifest: dict[str, object]) -> float:
    """The pod's termination grace period, Kubernetes' default when unset."""
    spec = manifest.get("spec")
    value = spec.get("terminationGracePeriodSeconds") if isinstance(spec, dict) else None
    return float(value) if isinstance(value, (int, float, str)) else DEFAULT_GRACE


def bootstrap_env(run_id: str, attempt: int, source_root: str | Path | None) -> dict[str, str]:
    """The environment every engine gives the primary so the entrypoint knows its run."""
    env = {
        ENV_PROTOCOL: str(PROTOCOL_VERSION),
        ENV_RUN_ID: run_id,
        ENV_ATTEMPT: str(attempt),
    }
    if source_root is not None:
        env[ENV_SOURCE_ROOT] = str(source_root)
    return env
