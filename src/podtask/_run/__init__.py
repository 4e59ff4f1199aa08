"""Run orchestration: retries, timeouts, records and outputs, over any engine."""

from podtask._contract import LABEL_ATTEMPT, LABEL_RUN
from podtask._run.engine import (
    AttemptContext,
    AttemptOutcome,
    Engine,
    SurvivingEngine,
    check_engine_options,
)
from podtask._run.follow import LogFollower
from podtask._run.render import (
    SIDECAR_GRACE_ENV,
    SIDECAR_MODE_ENV,
    apply_sidecar_mode,
    render_manifest,
)
from podtask._run.result import ContainerResult, RunResult
from podtask._run.runner import Runner, RunOptions, input_literals

__all__ = [
    "LABEL_ATTEMPT",
    "LABEL_RUN",
    "SIDECAR_GRACE_ENV",
    "SIDECAR_MODE_ENV",
    "AttemptContext",
    "AttemptOutcome",
    "ContainerResult",
    "Engine",
    "LogFollower",
    "RunOptions",
    "RunResult",
    "Runner",
    "SurvivingEngine",
    "apply_sidecar_mode",
    "check_engine_options",
    "input_literals",
    "render_manifest",
]
