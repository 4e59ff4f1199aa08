"""What a run ends with: the ``--json`` document and the CLI's summary come from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podtask._lifecycle import ContainerStatus


def container_json(
    c: ContainerStatus, *, attempt: int, primary: str, stop_signal_at: float | None
) -> dict[str, Any]:
    return {
        "name": c.name,
        "kind": c.kind,
        "primary": c.name == primary,
        "attempt": attempt,
        "state": c.state,
        "started_at": c.started_at,
        "ready_at": c.ready_at,
        "finished_at": c.finished_at,
        "stop_signal_at": stop_signal_at,
        "exit_code": c.exit_code,
        "signal": c.signal,
        "reason": c.reason,
        "message": c.message,
        "restart_count": c.restart_count,
    }


@dataclass
class RunResult:
    run_id: str
    task: str
    engine: str
    phase: str
    reason: str
    message: str
    attempts: int
    run_dir: str
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    containers: list[dict[str, Any]] = field(default_factory=list)
    sidecar_issues: list[str] = field(default_factory=list)
    # Per attempt, the retry budget it drew on: None (the first), "user" or "system".
    retry_budgets: list[str | None] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.phase == "SUCCEEDED"

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "task": self.task,
            "engine": self.engine,
            "phase": self.phase,
            "reason": self.reason,
            "message": self.message,
            "attempts": self.attempts,
            "outputs": self.outputs,
            "error": self.error,
            "containers": self.containers,
            "sidecar_issues": self.sidecar_issues,
            "retry_budgets": self.retry_budgets,
            "run_dir": self.run_dir,
        }
