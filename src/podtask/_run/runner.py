"""Run orchestration: compile, record, run attempts on an engine, collect outputs.

Order matters for the "nothing is started on bad input" rule: the task is
compiled, inputs are checked and the engine's ``prepare`` validates the pod
*before* the run directory and record exist.  From then on every state change
is written to the record first, so a crash of podtask leaves a run that
``podtask runs`` can explain (LOST), never a half-written one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from podtask._authoring import Task, load_tasks
from podtask._compile import DEFAULT_IMAGE, CompiledTask, compile_task, to_json, to_yaml
from podtask._compile.render import Capabilities, attempt_manifest, sidecar_mode_for
from podtask._contract import ENV_IMAGE, ERROR_FILE, OUTPUTS_FILE, grace_of
from podtask._errors import EngineUnreachable, PodtaskError, SpecError, StorageFull
from podtask._lifecycle import (
    DEFAULT_SYSTEM_RETRIES,
    Budget,
    ContainerStatus,
    TaskPhase,
    Verdict,
    retry_budget,
)
from podtask._run.engine import (
    AttemptContext,
    AttemptOutcome,
    Engine,
    EngineOptions,
    SurvivingEngine,
    check_engine_options,
)
from podtask._run.result import ContainerResult, RunResult
from podtask._storage import (
    TERMINAL_PHASES,
    ContainerRecord,
    RunDir,
    RunRecord,
    RunStore,
    current_process_identity,
    new_run_id,
    podtask_home,
    read_json,
    schema_cache,
    write_atomic,
    write_json_atomic,
)
from podtask._storage.faults import pause_for_tests
from podtask._storage.space import FillWatch, full_error
from podtask._types import from_literal, to_literal


@dataclass
class RunOptions:
    engine: Engine
    inputs: Mapping[str, Any] = field(default_factory=dict)  # Python values by input name
    image: str | None = None
    grace: float | None = None
    sidecar_mode: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    hurry: threading.Event = field(default_factory=threading.Event)  # a second Ctrl-C: kill now
    notice: Callable[[str], None] = lambda _m: None
    on_status: Callable[[tuple[ContainerStatus, ...]], None] = lambda _s: None
    on_start: Callable[[str, RunDir], None] = lambda _id, _rd: None
    engine_options: EngineOptions = field(default_factory=EngineOptions)  # the engine's own type
    detach: bool = False  # submit the attempt and return (engines whose runs survive us)
    system_retries: int = DEFAULT_SYSTEM_RETRIES  # retries for failures that are not the task's
    python_api: bool = False  # called by podtask.run(): errors say inputs={...}, not --NAME


def _how_to_pass(name: str, python_api: bool) -> str:
    """The hint for a missing input, in the caller's words (CLI flag or Python argument)."""
    if python_api:
        return f"pass inputs={{{name!r}: ...}} to podtask.run()"
    return f"pass --{name.replace('_', '-')} VALUE"


def input_literals(
    task: Task, values: Mapping[str, Any], *, python_api: bool = False
) -> dict[str, Any]:
    """Check the given inputs against the interface; defaults fill the gaps."""
    unknown = sorted(set(values) - {v.name for v in task.interface.inputs})
    if unknown:
        names = ", ".join(v.name for v in task.interface.inputs) or "none"
        raise SpecError(
            f"{task.name} has no input {unknown[0]!r}", field=unknown[0], hint=f"inputs: {names}"
        )
    out: dict[str, Any] = {}
    for var in task.interface.inputs:
        if var.name in values:
            out[var.name] = to_literal(values[var.name], var.type, name=var.name)
        elif var.has_default:
            out[var.name] = var.default
        else:
            raise SpecError(
                f"missing input {var.name!r} ({var.type})",
                field=var.name,
                hint=_how_to_pass(var.name, python_api),
            )
    return out


def _check_outputs(task: Task, literals: Any) -> dict[str, Any]:
    if not isinstance(literals, dict):
        raise SpecError(f"{OUTPUTS_FILE} is not a JSON object")
    for var in task.interface.outputs:
        if var.name not in literals:
            raise SpecError(f"output {var.name!r} is missing from {OUTPUTS_FILE}", field=var.name)
        from_literal(literals[var.name], var.type, name=var.name)
    return literals


def _primary_exit(containers: tuple[ContainerStatus, ...], primary: str) -> int | None:
    return next((c.exit_code for c in containers if c.name == primary), None)


class Runner:
    """Runs one task to completion, with retries; one instance per run."""

    def __init__(self, path: str, task_name: str | None, options: RunOptions) -> None:
        self.options = options
        self.engine_options = check_engine_options(options.engine, options.engine_options)
        self.ref, tasks = load_tasks(path, task_name)
        if len(tasks) > 1:
            names = ", ".join(t.name for t in tasks)
            raise SpecError(
                f"{path} defines several tasks", field="TASK", hint=f"name one of: {names}"
            )
        self.task = tasks[0]
        default = os.environ.get(ENV_IMAGE) or DEFAULT_IMAGE
        self.compiled: CompiledTask = compile_task(
            self.task,
            image=options.image,
            default_image=default,
            reference=f"{self.ref.module}:{self.task.name}",
            base_dir=self.ref.path.parent,
            schema_cache_dir=schema_cache(),
        )
        for w in self.compiled.warnings_for(options.engine.name):  # raises what it would refuse
            options.notice(f"warning: {w}")
        self.inputs = input_literals(self.task, options.inputs, python_api=options.python_api)
        self.home = podtask_home()
        self.run_id = new_run_id(self.task.name)
        self.run_dir = RunDir(run_id=self.run_id, path=self.home / "runs" / self.run_id)
        self.primary = str(self.compiled.template["primaryContainerName"])
        self._caps: Capabilities | None = None

    def _capabilities(self) -> Capabilities:
        """The engine's, asked once per run (a cluster's version is a request)."""
        if self._caps is None:
            engine = self.options.engine
            self._caps = engine.capabilities(self.engine_options, self.run_dir.path)
        return self._caps

    def _context(self, attempt: int, deadline: float | None) -> AttemptContext:
        rd = self.run_dir
        o = self.options
        caps = self._capabilities()
        mode = sidecar_mode_for(
            self.compiled.manifest,
            primary=self.primary,
            mode=o.sidecar_mode or self.compiled.template.get("sidecarMode"),
            caps=caps,
        )
        manifest = attempt_manifest(
            self.compiled.manifest,
            run_id=self.run_id,
            attempt=attempt,
            inputs=str(rd.inputs_json),
            output_prefix=str(rd.outputs_dir),
            primary=self.primary,
            sidecar_mode=mode,
            grace=o.grace if o.grace is not None else grace_of(self.compiled.manifest),
            caps=caps,
        )
        return AttemptContext(
            run_id=self.run_id,
            attempt=attempt,
            run_dir=rd,
            manifest=manifest,
            primary=self.primary,
            source_root=self.ref.root,
            inputs_path=rd.inputs_json,
            output_prefix=rd.outputs_dir,
            grace_override=o.grace,
            deadline=deadline,
            cancel=o.cancel,
            hurry=o.hurry,
            sidecar_failure=str(self.compiled.template.get("sidecarFailure") or "ignore"),
            sidecar_mode=mode,
            notice=o.notice,
            on_status=o.on_status,
            on_event=rd.append_event,
            engine_options=self.engine_options,
            declared=self.compiled.manifest,
        )

    def run(self) -> RunResult:
        engine = self.options.engine
        if self.options.detach and not isinstance(engine, SurvivingEngine):
            raise SpecError(
                f"the {engine.name} engine cannot detach from its runs",
                field="--detach",
                hint="use --engine kubernetes, or drop --detach",
            )
        engine.prepare(self._context(1, None))  # SpecError here: nothing exists yet
        rd = RunDir.create(self.home, self.run_id)
        try:
            write_atomic(rd.task_json, to_json(self.compiled.template))
            write_json_atomic(rd.inputs_json, self.inputs)
        except StorageFull as exc:
            rd.remove()  # a full disk before the record: no run, no directory (exit 2)
            raise StorageFull(str(exc), nothing_started=True) from exc
        pause_for_tests("before-record")
        pid: int | None
        start: int | None
        pid, start = current_process_identity()
        if _survives_client(engine):
            # The pod finishes without us: nobody to reap; `podtask attach` / `runs` pick it up.
            pid, start = None, None
        with RunStore.in_home(self.home) as store:
            store.create(
                RunRecord(
                    run_id=self.run_id,
                    task=f"{self.ref.module}:{self.task.name}",
                    source=str(self.ref.path),
                    engine=engine.name,
                    phase=TaskPhase.QUEUED.value,
                    run_dir=str(rd.path),
                    owner_pid=pid,
                    owner_start_time=start,
                )
            )
            self.options.on_start(self.run_id, rd)
            return self.note_interrupt(self._guarded(store, rd, first=1, resume=False))

    @classmethod
    def existing(cls, run_id: str, options: RunOptions) -> Runner:
        """The runner of a run started earlier (``podtask attach``): same id, same directory.

        The task is loaded again from the recorded source file (compiling is
        deterministic), because retries, the timeout and the output check need it.
        """
        with RunStore.in_home() as store:
            record = store.get(run_id)
        name = record.task.rpartition(":")[2]
        runner = cls(record.source, name, options)
        runner.run_id = record.run_id
        runner.run_dir = RunDir.open(runner.home, record.run_id)
        return runner

    def attach(self) -> RunResult:
        """Follow the run's current attempt to its end (and any retries), as ``run`` would have.

        With ``detach`` in the run options, a finished attempt is settled and
        a retry, if any, is only submitted: ``podtask runs`` uses that to catch up.
        """
        with RunStore.in_home(self.home) as store:
            record = store.get(self.run_id)
            rd = self.run_dir
            if record.phase in TERMINAL_PHASES:
                return self._result_of(record, rd)
            self.options.on_start(self.run_id, rd)
            return self.note_interrupt(
                self._guarded(store, rd, first=max(1, record.attempts), resume=True)
            )

    def note_interrupt(self, result: RunResult) -> RunResult:
        """The one rule for a run the user interrupted (Ctrl-C, SIGTERM) while it was in flight.

        The command exits 130 (``result.interrupted``), as a shell or kubectl
        does.  The record keeps what the primary decided: a primary that had
        already ended keeps its phase and outputs (Flyte and Argo leave a
        finished task's result alone when its run is stopped), and its
        message says it was interrupted, so ``describe`` shows it.  Called at
        the end of the run and again by the CLI for a Ctrl-C that lands after
        the run's last write.
        """
        if not self.options.cancel.is_set() or result.interrupted:
            return result
        if result.phase is TaskPhase.ABORTED:
            return replace(result, interrupted=True)
        note = "interrupted by the user after the primary had ended; its result stands"
        message = f"{result.message}; {note}" if result.message else note
        with RunStore.in_home(self.home) as store:
            store.update(self.run_id, message=message)
        self.run_dir.append_event({"event": "interrupted", "phase": result.phase.value})
        return replace(result, message=message, interrupted=True)

    def refresh(self) -> str:
        """Bring an unfinished run's record up to date from its engine, without waiting.

        A finished attempt is settled (logs, outputs, pod deleted, retry
        submitted) through ``attach``; a running one only updates the phase.
        Returns the phase now recorded.
        """
        engine = self.options.engine
        if not isinstance(engine, SurvivingEngine):
            raise SpecError(
                f"the {engine.name} engine's runs cannot be refreshed", field="--engine"
            )
        with RunStore.in_home(self.home) as store:
            record = store.get(self.run_id)
            if record.phase in TERMINAL_PHASES:
                return record.phase
            verdict = engine.peek(self._context(max(1, record.attempts), None))
            if verdict is None:
                return str(record.phase)
            if not verdict.terminal:
                store.update(
                    self.run_id,
                    phase=verdict.phase.value,
                    reason=verdict.reason,
                    message=verdict.message,
                )
                return str(verdict.phase.value)
        return self.attach().phase

    def _result_of(self, record: RunRecord, rd: RunDir) -> RunResult:
        outputs = json.loads(record.outputs_json) if record.outputs_json else None
        return RunResult(
            run_id=record.run_id,
            task=record.task,
            engine=record.engine,
            phase=TaskPhase(record.phase),
            reason=record.reason or "",
            message=record.message or "",
            attempts=record.attempts,
            run_dir=str(rd.path),
            outputs=outputs,
            error=read_json(rd.error_json) if record.phase != "SUCCEEDED" else None,
            retry_budgets=[
                _budgets_used(rd, record.attempts)[1].get(n) for n in range(1, record.attempts + 1)
            ],
        )

    def _guarded(self, store: RunStore, rd: RunDir, *, first: int, resume: bool) -> RunResult:
        """``_attempts``; for runs that outlive podtask, an engine error is also recorded.

        Local runs keep their old behaviour (a crash is found later as LOST); a
        cluster run has no owner to reap, so it must not stay RUNNING forever.
        """
        try:
            return self._attempts(store, rd, first=first, resume=resume)
        except PodtaskError as exc:
            if not (_survives_client(self.options.engine) or isinstance(exc, StorageFull)):
                raise
            if isinstance(exc, EngineUnreachable):
                # Lost contact says nothing about the pod, which runs on: leave the run open.
                self.options.notice(
                    f"run {self.run_id} is left unfinished (its pod may still run): "
                    f"`podtask attach {self.run_id}` once the cluster answers"
                )
                raise
            # A full disk: the reserve freed room to record it (space.py), so never LOST.
            store.update(
                self.run_id,
                phase=TaskPhase.FAILED.value,
                reason=type(exc).__name__,
                message=str(exc),
                ended_at=time.time(),
            )
            raise

    def _attempts(
        self, store: RunStore, rd: RunDir, *, first: int = 1, resume: bool = False
    ) -> RunResult:
        retries = self.task.retries
        timeout = self.task.timeout
        containers_json: list[ContainerResult] = []
        outcome: AttemptOutcome | None = None
        verdict: Verdict | None = None
        outputs: dict[str, Any] | None = None
        engine = self.options.engine
        surviving = engine if isinstance(engine, SurvivingEngine) else None
        detach = surviving is not None and self.options.detach
        budgets = {"user": retries, "system": self.options.system_retries}
        used, retried = _budgets_used(rd, first)
        attempt, budget = first, retried.get(first)
        while True:
            watch = FillWatch(self.home)
            if resume and attempt == first:
                # The attempt's pod exists already; its deadline is the engine's to recall.
                if surviving is None:
                    raise SpecError(f"the {engine.name} engine cannot resume a run")
                outcome = surviving.follow(self._context(attempt, None))
            else:
                (rd.outputs_dir / ERROR_FILE).unlink(missing_ok=True)
                ctx = self._context(attempt, time.monotonic() + timeout if timeout else None)
                write_atomic(rd.pod_yaml, to_yaml(ctx.manifest))
                store.update(self.run_id, phase=TaskPhase.RUNNING.value, attempts=attempt)
                rd.append_event({"event": "attempt", "attempt": attempt, "budget": budget})
                if detach and surviving is not None:
                    surviving.submit(ctx)
                    return self._detached(attempt, rd)
                outcome = engine.run_attempt(ctx)
            verdict = outcome.verdict
            self._record_containers(store, attempt, outcome)
            containers_json += [
                ContainerResult.of(
                    c,
                    attempt=attempt,
                    primary=self.primary,
                    stop_signal_at=outcome.stop_signal_at.get(c.name),
                )
                for c in outcome.containers
            ]
            error_doc = rd.outputs_dir / ERROR_FILE
            if error_doc.exists():
                os.replace(error_doc, rd.error_json)
            if verdict.phase is not TaskPhase.ABORTED and watch.filled():
                if verdict.phase is TaskPhase.SUCCEEDED:  # its result stands, its logs are cut
                    full = full_error(self.home, "write all of them")
                    self.options.notice(
                        f"warning: the logs of run {self.run_id} end where the disk filled: {full}"
                    )
                else:
                    # Most likely why it failed (its own log write met ENOSPC), and a
                    # retry would meet the same disk: the run stops here (`_guarded`).
                    raise full_error(
                        self.home,
                        f"write the logs of run {self.run_id}, which failed ({verdict.reason}) "
                        "as the disk filled; they are kept up to that point",
                    )
            if verdict.phase is TaskPhase.SUCCEEDED:
                try:
                    outputs = _check_outputs(self.task, read_json(rd.outputs_json) or {})
                except SpecError as exc:
                    verdict = Verdict(
                        TaskPhase.FAILED, "OutputsMissing", f"the primary exited 0 but {exc}"
                    )
            retried[attempt] = budget
            kind = retry_budget(verdict)
            if kind is None or used[kind] >= budgets[kind] or self.options.cancel.is_set():
                break
            used[kind] += 1
            self.options.notice(
                f"attempt {attempt} failed ({verdict.reason}); retrying"
                f" ({kind} retry {used[kind]} of {budgets[kind]})"
            )
            attempt, budget = attempt + 1, kind
        assert verdict is not None and outcome is not None
        error = read_json(rd.error_json) if verdict.phase is not TaskPhase.SUCCEEDED else None
        if verdict.phase is TaskPhase.SUCCEEDED:
            rd.error_json.unlink(missing_ok=True)
        message = verdict.message
        if error and not message:
            message = str(error.get("message", ""))
        store.update(
            self.run_id,
            phase=verdict.phase.value,
            reason=verdict.reason,
            message=message,
            ended_at=time.time(),
            exit_code=_primary_exit(outcome.containers, self.primary),
            outputs_json=to_json(outputs) if outputs is not None else None,
        )
        rd.append_event(
            {
                "event": "end",
                "phase": verdict.phase.value,
                "reason": verdict.reason,
                "message": message,
                "sidecar_issues": list(verdict.sidecar_issues),
            }
        )
        return RunResult(
            run_id=self.run_id,
            task=f"{self.ref.module}:{self.task.name}",
            engine=self.options.engine.name,
            phase=verdict.phase,
            reason=verdict.reason,
            message=message,
            attempts=attempt,
            run_dir=str(rd.path),
            outputs=outputs,
            error=error,
            containers=containers_json,
            sidecar_issues=list(verdict.sidecar_issues),
            retry_budgets=[retried.get(n) for n in range(1, attempt + 1)],
        )

    def _detached(self, attempt: int, rd: RunDir) -> RunResult:
        return RunResult(
            run_id=self.run_id,
            task=f"{self.ref.module}:{self.task.name}",
            engine=self.options.engine.name,
            phase=TaskPhase.RUNNING,
            reason="Detached",
            message=f"attempt {attempt} submitted; follow it with `podtask attach {self.run_id}`",
            attempts=attempt,
            run_dir=str(rd.path),
        )

    def _record_containers(self, store: RunStore, attempt: int, outcome: AttemptOutcome) -> None:
        for c in outcome.containers:
            store.set_container(
                ContainerRecord(
                    run_id=self.run_id,
                    attempt=attempt,
                    name=c.name,
                    kind=c.kind,
                    is_primary=c.name == self.primary,
                    started_at=c.started_at,
                    ready_at=c.ready_at,
                    finished_at=c.finished_at,
                    exit_code=c.exit_code,
                    signal=c.signal,
                    reason=c.reason,
                    message=c.message,
                )
            )


def _budgets_used(rd: RunDir, first: int) -> tuple[dict[Budget, int], dict[int, Budget | None]]:
    """The retries the run's earlier attempts drew (a resumed run continues its budgets)."""
    used: dict[Budget, int] = {"user": 0, "system": 0}
    retried: dict[int, Budget | None] = {}
    if first > 1:
        for e in rd.read_events():
            n, kind = e.get("attempt"), e.get("budget")
            if e.get("event") == "attempt" and isinstance(n, int) and n <= first:
                retried[n] = kind if kind in used else None
                if kind in used:
                    used[kind] += 1
    return used, retried


def _survives_client(engine: Engine) -> bool:
    return isinstance(engine, SurvivingEngine)
