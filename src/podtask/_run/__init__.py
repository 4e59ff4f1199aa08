"""Run orchestration: retries, timeouts, records and outputs, over any engine."""

from podtask._compile.render import Capabilities, attempt_manifest
from podtask._contract import ENV_SIDECAR_GRACE as SIDECAR_GRACE_ENV
from podtask._contract import ENV_SIDECAR_MODE as SIDECAR_MODE_ENV
from podtask._contract import LABEL_ATTEMPT, LABEL_RUN
from podtask._run.engine import (
    AttemptContext,
    AttemptOutcome,
    Engine,
    EngineOptions,
    KubernetesOptions,
    LocalOptions,
    PodmanOptions,
    SurvivingEngine,
    check_engine_options,
    engine_options,
)
from podtask._run.follow import LogFollower
from podtask._run.result import ContainerResult, RunResult
from podtask._run.runner import Runner, RunOptions, input_literals

__all__ = [
    "LABEL_ATTEMPT",
    "LABEL_RUN",
    "SIDECAR_GRACE_ENV",
    "SIDECAR_MODE_ENV",
    "AttemptContext",
    "AttemptOutcome",
    "Capabilities",
    "ContainerResult",
    "Engine",
    "EngineOptions",
    "KubernetesOptions",
    "LocalOptions",
    "LogFollower",
    "PodmanOptions",
    "RunOptions",
    "RunResult",
    "Runner",
    "SurvivingEngine",
    "attempt_manifest",
    "check_engine_options",
    "engine_options",
    "input_literals",
]
