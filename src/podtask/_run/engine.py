"""The one protocol every engine implements, and the per-attempt context it receives.

``_run`` owns retries, records, outputs and the run directory; an engine only
launches one attempt's pod, reports what it sees, and tears the pod down.
Engines receive everything through ``AttemptContext`` so they never import
``_run``'s orchestration, and ``_run`` never imports an engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from podtask._contract import grace_of
from podtask._lifecycle import ContainerStatus, Verdict
from podtask._storage import RunDir


@dataclass
class AttemptContext:
    run_id: str
    attempt: int
    run_dir: RunDir
    manifest: dict[str, Any]  # rendered: placeholders replaced, named after the run
    primary: str
    source_root: Path
    inputs_path: Path
    output_prefix: Path
    grace_override: float | None = None  # --grace; else the pod's terminationGracePeriodSeconds
    deadline: float | None = None  # time.monotonic() deadline of this attempt (task timeout)
    cancel: threading.Event = field(default_factory=threading.Event)  # Ctrl-C / SIGTERM
    sidecar_failure: str = "ignore"
    sidecar_mode: str | None = None
    notice: Callable[[str], None] = lambda _msg: None  # one-line information for the user
    on_status: Callable[[tuple[ContainerStatus, ...]], None] = lambda _s: None
    on_event: Callable[[dict[str, Any]], None] = lambda _e: None  # container timeline events
    # Engine-specific options from the CLI (--namespace, --context, --storage, ...),
    # passed through untouched so that adding an engine option needs no change here.
    engine_options: dict[str, Any] = field(default_factory=dict)

    @property
    def grace(self) -> float:
        if self.grace_override is not None:
            return self.grace_override
        return grace_of(self.manifest)


@dataclass(frozen=True)
class AttemptOutcome:
    verdict: Verdict
    containers: tuple[ContainerStatus, ...]
    stop_signal_at: dict[str, float] = field(
        default_factory=dict
    )  # container -> first SIGTERM time


class Engine(Protocol):
    name: str

    def prepare(self, ctx: AttemptContext) -> None:
        """Check that this engine can run the manifest; raise SpecError before anything starts."""

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        """Run one attempt's pod to a terminal verdict and tear it down (no orphans)."""
        ...
