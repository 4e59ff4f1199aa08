"""One error tree for podtask, sorted by what the caller should do about it.

::

    PodtaskError                 anything podtask raises on purpose
    ├── SpecError                bad input (task, pod spec, CLI value): fix it and retry; CLI exit 2
    ├── TaskFailed               the user's code (or the primary container) failed; carries
    │                            exit code, reason and a log tail; CLI exit 1
    └── InfrastructureError      the engine, podman or the cluster misbehaved; worth a retry
        ├── EngineUnavailable    the engine cannot run on this machine (podman missing, ...)
        │   └── EngineUnreachable  the engine did not answer; what it runs may still run
        └── StorageFull          no space left under PODTASK_HOME; also an OSError (ENOSPC)

Library errors (yaml, protobuf, kubernetes client, OSError) are wrapped at the
boundary with ``raise ... from exc`` so callers only ever catch this tree.
"""

from __future__ import annotations

from typing import Any


class PodtaskError(Exception):
    """Root of every error podtask raises on purpose."""


class SpecError(PodtaskError, ValueError):
    """Bad input: a task definition, pod spec or CLI value that cannot work.

    ``field`` is the path of the offending field (``spec.containers[1].name``)
    and ``hint`` says how to fix it; both are part of the message so that a
    user reading only the CLI output knows where to look.
    """

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        self.field = field
        self.hint = hint
        self.reason = message
        text = f"{field}: {message}" if field else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class TaskFailed(PodtaskError):
    """The task ran and failed: the user's code raised, or the primary exited non-zero.

    ``podtask.run(..., check=True)`` raises it with the whole ``result`` (phase,
    containers, run directory) and the task's ``error`` document, so a caller
    can tell a ``ValueError`` in the function from an eviction without parsing text.
    """

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        reason: str = "Error",
        log_tail: str = "",
        result: Any = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        self.exit_code = exit_code
        self.reason = reason
        self.log_tail = log_tail
        self.result = result  # podtask.RunResult
        self.error = error
        super().__init__(message)


class InfrastructureError(PodtaskError):
    """Something below the task failed (engine, container runtime, cluster); retryable."""


class EngineUnavailable(InfrastructureError):
    """The chosen engine cannot run here; the message says what to install or enable."""


class EngineUnreachable(EngineUnavailable):
    """The engine did not answer (API server down, network cut); its pods may still run.

    A cluster runs a pod without podtask, so losing the connection says
    nothing about the run: the runner leaves such a run unfinished, for a
    later ``podtask attach`` or ``podtask runs`` to settle, rather than
    recording a failure it did not see.
    """


class StorageFull(InfrastructureError, OSError):
    """The disk holding podtask's state is full; the message names it and its free space.

    Also an ``OSError`` (errno ``ENOSPC``) so code that tolerates a failed write
    keeps tolerating it.  ``nothing_started`` tells the CLI to exit 2, not 1.
    """

    def __init__(self, message: str, *, nothing_started: bool = False) -> None:
        import errno

        InfrastructureError.__init__(self, message)
        self.errno = errno.ENOSPC
        self.strerror = message
        self.nothing_started = nothing_started

    def __str__(self) -> str:
        return str(self.strerror)


__all__ = [
    "EngineUnavailable",
    "EngineUnreachable",
    "InfrastructureError",
    "PodtaskError",
    "SpecError",
    "StorageFull",
    "TaskFailed",
]
