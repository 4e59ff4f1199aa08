"""The one protocol every engine implements, and the per-attempt context it receives.

``_run`` owns retries, records, outputs and the run directory; an engine only
launches one attempt's pod, reports what it sees, and tears the pod down.
Engines receive everything through ``AttemptContext`` so they never import
``_run``'s orchestration, and ``_run`` never imports an engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from podtask._contract import grace_of
from podtask._errors import SpecError
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
    # The pod as the user's spec declares it (compiled, before any sidecar-mode reshaping):
    # errors about the attempt's pod name fields by this one's paths.
    declared: dict[str, Any] = field(default_factory=dict)

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


@runtime_checkable
class Engine(Protocol):
    """Runs one attempt's pod at a time, with the client watching it to the end."""

    name: str
    options: frozenset[str]  # the engine options it takes (RunOptions.engine_options keys)

    def prepare(self, ctx: AttemptContext) -> None:
        """Check that this engine can run the manifest; raise SpecError before anything starts."""

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        """Run one attempt's pod to a terminal verdict and tear it down (no orphans)."""
        ...


@runtime_checkable
class SurvivingEngine(Engine, Protocol):
    """An engine whose pods finish without the client (a cluster): runs can be left and rejoined.

    Such a run has no owner process to reap it; ``podtask runs`` and
    ``podtask attach`` catch up with it through ``peek`` and ``follow``.
    """

    def submit(self, ctx: AttemptContext) -> None:
        """Create the attempt's pod and return at once (``--detach``)."""

    def follow(self, ctx: AttemptContext) -> AttemptOutcome:
        """Follow an attempt submitted earlier to its end, and tear it down."""
        ...

    def peek(self, ctx: AttemptContext) -> Verdict | None:
        """What the attempt's pod means now, without waiting (None: it is gone)."""
        ...


def check_engine_options(engine: Engine, options: Mapping[str, Any]) -> None:
    """SpecError naming the flag of an option the engine does not take; nothing has started."""
    for option in sorted(set(options) - engine.options):
        flag = "--" + option.replace("_", "-")
        raise SpecError(
            f"{flag} does not apply to the {engine.name} engine",
            field=flag,
            hint="drop it, or use an engine that takes it (--engine kubernetes)",
        )
