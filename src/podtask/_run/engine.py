"""The one protocol every engine implements, and the per-attempt context it receives.

``_run`` owns retries, records, outputs and the run directory; an engine only
launches one attempt's pod, reports what it sees, and tears the pod down.
Engines receive everything through ``AttemptContext`` so they never import
``_run``'s orchestration, and ``_run`` never imports an engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from podtask._compile.render import Capabilities
from podtask._contract import grace_of
from podtask._errors import SpecError
from podtask._lifecycle import ContainerStatus, Verdict
from podtask._storage import RunDir


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """Options one engine takes beyond the pod itself; each engine has its own subclass.

    Built once, by the CLI or ``podtask.run()`` (``engine_options`` below), and
    checked by type in the runner, so an engine reads typed fields rather
    than flag names out of a dict.  Each field is named after its CLI flag
    (``ship_code`` is ``--ship-code``); ``None`` means "not given".
    """

    engine: ClassVar[str] = ""


@dataclass(frozen=True, kw_only=True)
class LocalOptions(EngineOptions):
    """The local engine takes no options: its pods are this host's processes."""

    engine: ClassVar[str] = "local"


@dataclass(frozen=True, kw_only=True)
class PodmanOptions(EngineOptions):
    engine: ClassVar[str] = "podman"
    pull_timeout: float | None = None  # seconds one missing image may take to pull


#: --pull: the primary's imagePullPolicy.
PULL_POLICIES = {"always": "Always", "if-not-present": "IfNotPresent", "never": "Never"}


@dataclass(frozen=True, kw_only=True)
class KubernetesOptions(EngineOptions):
    engine: ClassVar[str] = "kubernetes"
    namespace: str | None = None
    context: str | None = None  # kubeconfig context (--context)
    kubeconfig: str | None = None
    storage: str | None = None  # URL the pod reads inputs and writes outputs through
    ship_code: bool | None = None  # None: ship unless the pods see this machine's files
    ship_code_include: tuple[str, ...] = ()
    pull: str | None = None  # a PULL_POLICIES key
    image_pull_grace: float | None = None  # seconds a transient pull error may last

    def __post_init__(self) -> None:
        if self.pull is not None and self.pull not in PULL_POLICIES:
            raise SpecError(
                f"--pull {self.pull!r} is not a pull policy",
                field="--pull",
                hint="one of " + ", ".join(PULL_POLICIES),
            )


_OptionsT = TypeVar("_OptionsT", bound=EngineOptions)


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
    # A second Ctrl-C: no more grace, SIGKILL what runs (kubernetes: delete with grace 0).
    hurry: threading.Event = field(default_factory=threading.Event)
    sidecar_failure: str = "ignore"
    sidecar_mode: str | None = None
    notice: Callable[[str], None] = lambda _msg: None  # one-line information for the user
    on_status: Callable[[tuple[ContainerStatus, ...]], None] = lambda _s: None
    on_event: Callable[[dict[str, Any]], None] = lambda _e: None  # container timeline events
    # The engine's own options (--namespace, --storage, ...): its EngineOptions subclass.
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    # The pod as the user's spec declares it (compiled, before any sidecar-mode reshaping):
    # errors about the attempt's pod name fields by this one's paths.
    declared: dict[str, Any] = field(default_factory=dict)

    @property
    def grace(self) -> float:
        if self.grace_override is not None:
            return self.grace_override
        return grace_of(self.manifest)

    def options(self, kind: type[_OptionsT]) -> _OptionsT:
        """The engine's options as its own type (the runner checked it; an engine asks again)."""
        if isinstance(self.engine_options, kind):
            return self.engine_options
        if type(self.engine_options) is EngineOptions:
            return kind()
        raise SpecError(
            f"{type(self.engine_options).__name__} are not options of the {kind.engine} engine",
            field="engine_options",
            hint=f"pass {kind.__name__}(...)",
        )


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

    @property
    def options_type(self) -> type[EngineOptions]:
        """The engine's options class (``RunOptions.engine_options`` must be one)."""
        ...

    def capabilities(self, options: EngineOptions, run_dir: Path) -> Capabilities:
        """What its runtime does with a pod: ``attempt_manifest`` shapes the pod from it.

        ``run_dir`` is the run's directory (it may not exist yet): a resumed
        run may have kept options there.
        """
        ...

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


def engine_options(engine: Engine, values: Mapping[str, Any]) -> EngineOptions:
    """The engine's typed options from flag values by field name (``None``: not given).

    A value for an option the engine does not take is a SpecError naming its
    flag, raised before anything starts.
    """
    kind = engine.options_type
    known = {f.name for f in fields(kind)}
    given = {k: v for k, v in values.items() if v is not None}
    for option in sorted(set(given) - known):
        flag = "--" + option.replace("_", "-")
        raise SpecError(
            f"{flag} does not apply to the {engine.name} engine",
            field=flag,
            hint="drop it, or use an engine that takes it (--engine kubernetes)",
        )
    if "ship_code_include" in given:
        given["ship_code_include"] = tuple(given["ship_code_include"])
    return kind(**given)


def check_engine_options(engine: Engine, options: EngineOptions) -> EngineOptions:
    """The options the runner hands the engine: its own type, or a SpecError naming the mismatch."""
    if not isinstance(engine, Engine):
        raise SpecError(
            f"{type(engine).__name__} is not an engine",
            field="engine",
            hint="it needs name, options_type, capabilities, prepare and run_attempt",
        )
    if type(options) is EngineOptions:  # none given: the engine's defaults
        return engine.options_type()
    if not isinstance(options, engine.options_type):
        raise SpecError(
            f"{type(options).__name__} are not options of the {engine.name} engine",
            field="engine_options",
            hint=f"pass {engine.options_type.__name__}(...), or engine={options.engine!r}",
        )
    return options
