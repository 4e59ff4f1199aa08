"""What a run ends with: ``podtask.run()`` returns it, ``--json`` prints ``to_json()``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from podtask._lifecycle import ContainerStatus, TaskPhase


@dataclass(frozen=True)
class ContainerResult:
    """One container of one attempt, as it ended (times are epoch seconds)."""

    name: str
    kind: str  # init, native-sidecar or regular
    primary: bool
    attempt: int
    state: str
    started_at: float | None
    ready_at: float | None
    finished_at: float | None
    stop_signal_at: float | None  # when podtask sent it its first stop signal
    exit_code: int | None
    signal: int | None
    reason: str | None
    message: str | None
    restart_count: int

    @classmethod
    def of(
        cls, c: ContainerStatus, *, attempt: int, primary: str, stop_signal_at: float | None
    ) -> ContainerResult:
        return cls(
            name=c.name,
            kind=c.kind,
            primary=c.name == primary,
            attempt=attempt,
            state=c.state,
            started_at=c.started_at,
            ready_at=c.ready_at,
            finished_at=c.finished_at,
            stop_signal_at=stop_signal_at,
            exit_code=c.exit_code,
            signal=c.signal,
            reason=c.reason,
            message=c.message,
            restart_count=c.restart_count,
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RunResult:
    run_id: str
    task: str
    engine: str
    phase: TaskPhase
    reason: str
    message: str
    attempts: int
    run_dir: str
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # the error document of a failed task
    containers: list[ContainerResult] = field(default_factory=list)
    sidecar_issues: list[str] = field(default_factory=list)
    # Per attempt, the retry budget it drew on: None (the first), "user" or "system".
    retry_budgets: list[str | None] = field(default_factory=list)
    # The user interrupted the run (Ctrl-C, SIGTERM); the CLI exits 130 whatever the phase.
    interrupted: bool = False

    @property
    def succeeded(self) -> bool:
        return self.phase is TaskPhase.SUCCEEDED

    @property
    def exit_code(self) -> int | None:
        """The primary's exit code in the last attempt (None if it never ended)."""
        last = [c for c in self.containers if c.primary and c.attempt == self.attempts]
        return last[-1].exit_code if last else None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "task": self.task,
            "engine": self.engine,
            "phase": self.phase.value,
            "reason": self.reason,
            "message": self.message,
            "attempts": self.attempts,
            "outputs": self.outputs,
            "error": self.error,
            "containers": [c.to_json() for c in self.containers],
            "sidecar_issues": self.sidecar_issues,
            "retry_budgets": self.retry_budgets,
            "interrupted": self.interrupted,
            "run_dir": self.run_dir,
        }
