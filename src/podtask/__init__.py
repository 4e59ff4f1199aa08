"""podtask: sidecar tasks, Python functions run as the primary container of a pod."""

from podtask._errors import (
    EngineUnavailable,
    InfrastructureError,
    PodtaskError,
    SpecError,
    TaskFailed,
)

__version__ = "0.1.0"

__all__ = [
    "EngineUnavailable",
    "InfrastructureError",
    "PodtaskError",
    "SpecError",
    "TaskFailed",
    "__version__",
]
