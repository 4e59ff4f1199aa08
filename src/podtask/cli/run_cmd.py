"""``podtask run``, ``runs``, ``logs``, ``describe``: execute tasks and inspect their runs."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import click

from podtask._errors import SpecError
from podtask.cli.common import (
    EXIT_OK,
    complete_run_id,
    err,
    finish_run,
    handle_errors,
    note_interrupt,
    was_interrupted,
)
from podtask.cli.show import describe_run, print_runs, status_line

#: A run's phases, as records hold them (``_lifecycle.TaskPhase``; not imported: startup cost).
PHASES = ("QUEUED", "INITIALIZING", "RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "LOST")

# SQLite's LIMIT is a signed 64-bit integer; a million runs is more than any terminal shows.
MAX_LIMIT = 1_000_000


def _shown(text: str) -> str:
    """``text`` quoted for the terminal; bytes that are not UTF-8 show as escapes."""
    return repr(text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


def parse_input_args(extra: list[str]) -> dict[str, str]:
    """``--name VALUE`` / ``--name=VALUE`` pairs after the task name; dashes mean underscores."""
    out: dict[str, str] = {}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--":
            raise SpecError(
                f"unexpected argument {_shown(token)}",
                field="inputs",
                hint="pass inputs as --NAME VALUE (TASK, if given, comes first)",
            )
        name, eq, value = token[2:].partition("=")
        if not eq:
            from podtask.cli.task_args import is_bare_flag, missing_value

            if is_bare_flag(token, extra[i + 1] if i + 1 < len(extra) else None):
                raise missing_value(token)  # a workflow's switch given to a task, or no value
            value = extra[i + 1]
            i += 1
        key = name.replace("-", "_")
        if key in out:
            raise SpecError(f"--{name} is given twice", field=key)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # The terminal handed over bytes that are not UTF-8 (Python keeps them as
            # surrogates); they could not be written to the run's inputs.
            raise SpecError(
                "the value is not valid UTF-8 text", field=key, hint="pass the value as UTF-8"
            ) from None
        out[key] = value
        i += 1
    return out


class _Interrupts:
    """Ctrl-C and SIGTERM ask the run to stop gracefully; a second one kills the pod at once.

    The first signal stops the pod as Kubernetes deletes one (SIGTERM, the grace
    period, SIGKILL); the second ends the grace for everything the run started
    (``hurry``: SIGKILL, or a delete with ``gracePeriodSeconds=0``), as a second
    Ctrl-C does to ``kubectl delete --wait``.  The run is still recorded and the
    command exits 130.
    """

    def __init__(self, cancel: threading.Event, hurry: threading.Event) -> None:
        self.cancel = cancel
        self.hurry = hurry
        self.count = 0
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        if was_interrupted():
            # A Ctrl-C whose KeyboardInterrupt was swallowed on the way here (raised in
            # a finalizer, say, where Python only prints it): the run must not start.
            self.cancel.set()
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        note_interrupt()  # exit 130, even if the run ends well (Runner.note_interrupt)
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1:
            err(f"\n{name}: stopping the pod gracefully (again to kill it at once)")
            self.cancel.set()
        elif not self.hurry.is_set():
            err(f"\n{name} again: killing the pod now")
            self.cancel.set()
            self.hurry.set()

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


#: ``ctx.meta`` key: ``--help`` was given after FILE, so show the task's help.
TASK_HELP = "podtask.task_help"


def _complete_task_or_input(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from podtask.cli.completion_cmd import complete_task_or_input

    return complete_task_or_input(ctx, param, incomplete)


class RunCommand(click.Command):
    """``run``, where ``--help`` after a task file shows that task's inputs and outputs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        helps = set(ctx.help_option_names)
        if not ctx.resilient_parsing and helps.intersection(args):
            rest = [a for a in args if a not in helps]
            first = next((a for a in rest if not a.startswith("-")), None)
            if first is not None and first.endswith(".py"):
                ctx.meta[TASK_HELP] = True
                return super().parse_args(ctx, rest)
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Options of ``run``, and the task's own inputs after FILE."""
        from podtask.cli.completion_cmd import input_items

        items: list[Any] = []
        if incomplete.startswith("-"):
            items = input_items(ctx, incomplete)
        return items + list(super().shell_complete(ctx, incomplete))


def choose_task(file: str, tasks: list[Any], name: str | None) -> Any:
    """The task to run: the one named, or the file's only task; a broken one raises its error."""
    from podtask._authoring import BrokenTask, no_such_task

    if name is not None:
        chosen = next((t for t in tasks if t.name == name), None)
        if chosen is None:
            raise no_such_task(name, file, tasks)
    elif len(tasks) == 1:
        chosen = tasks[0]
    elif not tasks:
        raise SpecError(
            f"{file} defines no task",
            field="FILE",
            hint="decorate a function with @podtask.task or @sidecar_task",
        )
    else:
        names = ", ".join(t.name for t in tasks)
        raise SpecError(
            f"{file} defines {len(tasks)} tasks; say which one to run",
            field="TASK",
            hint=f"podtask run {file} TASK [--INPUT VALUE ...] with TASK one of: {names}",
        )
    if isinstance(chosen, BrokenTask):
        raise chosen.error
    return chosen


@click.command(
    "run",
    cls=RunCommand,
    context_settings={"ignore_unknown_options": True},
    options_metavar="[RUN OPTIONS]",
)
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument(
    "task_and_inputs",
    metavar="[TASK] [--INPUT VALUE]...",
    nargs=-1,
    type=click.UNPROCESSED,
    shell_complete=_complete_task_or_input,
)
@click.option("--engine", default="local", show_default=True, help="Where the pod runs.")
@click.option(
    "--image", metavar="IMAGE", help="Image of the primary container (engines with images)."
)
@click.option(
    "--grace", type=float, metavar="SECONDS", help="Override terminationGracePeriodSeconds."
)
@click.option(
    "--sidecar-mode", type=click.Choice(["native", "managed"]), help="How sidecars are stopped."
)
@click.option(
    "--system-retries",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Retries for failures that are not the task's (eviction, preemption, lost pod).",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@click.option("--namespace", metavar="NS", help="[kubernetes] Namespace of the pod.")
@click.option("--context", "kube_context", metavar="CTX", help="[kubernetes] kubeconfig context.")
@click.option("--storage", metavar="URL", help="[kubernetes] fsspec URL for inputs/outputs/logs.")
@click.option("--detach", is_flag=True, help="[kubernetes] Print the run id and return at once.")
@click.option(
    "--ship-code/--no-ship-code",
    default=None,
    help="[kubernetes] Ship the task's source (default unless pods share this machine's files).",
)
@click.option(
    "--pull",
    type=click.Choice(["always", "if-not-present", "never"]),
    help="[kubernetes] The primary's imagePullPolicy (default: the task's, else if-not-present).",
)
@click.option(
    "--ship-code-include",
    multiple=True,
    metavar="PATTERN",
    help="[kubernetes] Ship dotfiles/dot-folders matching PATTERN too (see `podtask bundle`).",
)
@click.option(
    "--max-log-size",
    metavar="SIZE",
    help="Cap each container's log file (e.g. 10M), keeping its newest bytes.",
)
@click.pass_context
@handle_errors
def run_command(
    ctx: click.Context,
    file: str,
    task_and_inputs: tuple[str, ...],
    engine: str,
    image: str | None,
    grace: float | None,
    sidecar_mode: str | None,
    system_retries: int,
    as_json: bool,
    namespace: str | None,
    kube_context: str | None,
    storage: str | None,
    detach: bool,
    ship_code: bool | None,
    ship_code_include: tuple[str, ...],
    max_log_size: str | None,
    pull: str | None,
) -> None:
    """Run TASK of FILE; the task's inputs are options: --in1 VALUE or --in1=VALUE.

    TASK may be left out when FILE defines one task. `podtask run FILE TASK
    --help` lists the task's inputs (types, defaults, descriptions) and outputs.

    TASK may be a workflow: then --parallel N (default: 2 x CPU cores),
    --continue-on-failure, --no-cache and --overwrite-cache apply too.
    Exit codes: 0 succeeded, 1 the task failed, 2 bad input or spec (nothing
    was started), 130 interrupted.
    """
    from podtask._authoring import load_file
    from podtask._types import parse_cli_value

    if grace is not None and grace < 0:
        raise SpecError("must be >= 0", field="--grace")
    from podtask._storage.logcap import parse_size

    log_cap = parse_size(max_log_size) if max_log_size is not None else None
    keep: int | None = None
    keep_for: float | None = None
    if os.environ.get("PODTASK_KEEP_RUNS") or os.environ.get("PODTASK_KEEP_FOR"):
        from podtask.cli.retention import retention_from_env

        keep, keep_for = retention_from_env()
    tokens = list(task_and_inputs)
    task = tokens.pop(0) if tokens and not tokens[0].startswith("-") else None
    from podtask.cli.flow_cmd import run_workflow_if_named

    run_workflow_if_named(ctx, file, task, tokens)  # exits when TASK names a workflow
    raw = {} if ctx.meta.get(TASK_HELP) else parse_input_args(tokens)
    _, tasks = load_file(file)
    if ctx.meta.get(TASK_HELP) and task is None and len(tasks) != 1:
        click.echo(ctx.get_help())
        names = ", ".join(t.name for t in tasks) or "none"
        click.echo(f"\nTasks in {file}: {names} (podtask run {file} TASK --help)")
        sys.exit(EXIT_OK)
    chosen = choose_task(file, tasks, task)
    if ctx.meta.get(TASK_HELP):
        from podtask.cli.task_help import task_help

        click.echo(task_help(chosen, file), nl=False)
        sys.exit(EXIT_OK)
    values: dict[str, Any] = {}
    for name, text in raw.items():
        var = chosen.interface.input(name)
        if var is None:
            from podtask.cli.task_args import no_such_input

            raise no_such_input(chosen.name, name, [v.name for v in chosen.interface.inputs])
        values[name] = parse_cli_value(text, var.type, name=name)

    from podtask._run import LogFollower, Runner, RunOptions, engine_options
    from podtask.engines import get_engine

    chosen_engine = get_engine(engine)
    flags = {
        "namespace": namespace,
        "context": kube_context,
        "storage": storage,
        "ship_code": ship_code,
        "ship_code_include": list(ship_code_include) or None,
        "pull": pull,
    }
    typed_options = engine_options(chosen_engine, flags)  # a flag the engine refuses: exit 2

    log_out = sys.stderr if as_json else sys.stdout
    tty = sys.stderr.isatty() and not as_json
    follower: list[LogFollower] = []
    lock = threading.Lock()
    last_status = [""]

    def emit_log(container: str, line: str) -> None:
        with lock:
            if tty and last_status[0]:
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()
            print(f"[{container}] {line}", file=log_out, flush=True)
            if tty and last_status[0]:
                sys.stderr.write(last_status[0])
                sys.stderr.flush()

    def on_start(run_id: str, rd: Any) -> None:
        err(f"run {run_id} ({engine} engine)")
        follower.append(LogFollower(rd.logs_dir, emit_log, max_log_bytes=log_cap))

    def on_status(statuses: Any) -> None:
        # The follower's thread starts only once the pod is up: the local engine
        # forks its pod supervisor from this process, which is safe only while no
        # other thread runs.
        for f in follower:
            f.start_once()
        line = status_line(statuses)
        with lock:
            if line == last_status[0]:
                return
            last_status[0] = line
            if tty:
                sys.stderr.write(f"\r\033[K{line}")
                sys.stderr.flush()

    cancel, hurry = threading.Event(), threading.Event()
    options = RunOptions(
        engine=chosen_engine,
        inputs=values,
        image=image,
        grace=grace,
        sidecar_mode=sidecar_mode,
        system_retries=system_retries,
        cancel=cancel,
        hurry=hurry,
        notice=err,
        on_status=on_status,
        on_start=on_start,
        engine_options=typed_options,
        detach=detach,
    )
    runner = Runner(file, chosen.name, options)
    with _Interrupts(cancel, hurry):
        try:
            result = runner.run()
        finally:
            for f in follower:
                f.stop()
            if tty:
                sys.stderr.write("\r\033[K")
    result = runner.note_interrupt(result)  # a Ctrl-C after the run's last write counts too
    if keep is not None or keep_for is not None:
        from podtask.cli.prune_cmd import apply_retention

        apply_retention(keep, keep_for, spare=result.run_id)
    if detach:
        click.echo(result.run_id)
        sys.exit(EXIT_OK)
    if not as_json:
        for issue in result.sidecar_issues:
            err(f"note: {issue}")
    finish_run(result, as_json=as_json)


@click.command("runs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1, max=MAX_LIMIT))
@click.option("--task", "task_name", metavar="NAME", help="Only runs of this task.")
@click.option(
    "--phase",
    "phases",
    multiple=True,
    type=click.Choice(PHASES, case_sensitive=False),
    help="Only runs in this phase (repeatable).",
)
@click.option("--engine", metavar="ENGINE", help="Only runs on this engine.")
@click.option("--since", metavar="AGE|DATE", help="Only runs created since (2h, 7d, 2024-05-01).")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def runs_command(
    limit: int,
    task_name: str | None,
    phases: tuple[str, ...],
    engine: str | None,
    since: str | None,
    as_json: bool,
) -> None:
    """List recent runs, newest first (runs whose podtask died show as LOST)."""
    import time

    from podtask._storage import RunStore
    from podtask.cli.kube_cmd import refresh_runs
    from podtask.cli.retention import parse_since

    start = parse_since(since, field="--since", now=time.time()) if since else None
    wanted = {p.upper() for p in phases}
    filtered = bool(task_name or wanted or engine or start is not None)
    with RunStore.in_home() as store:
        refresh_runs(store)  # unfinished kubernetes runs: ask the cluster (no import otherwise)
        store.reap_lost()
        records = store.list(2**62 if filtered else limit)
    records = [
        r
        for r in records
        if (task_name is None or r.task == task_name or r.task.endswith(f":{task_name}"))
        and (not wanted or r.phase in wanted)
        and (engine is None or r.engine == engine)
        and (start is None or r.created_at >= start)
    ][:limit]
    print_runs(records, as_json=as_json)
    if not as_json:  # --json stays one list of task runs
        from podtask.cli.flow_cmd import print_workflow_runs

        print_workflow_runs(limit)


@click.command("logs")
@click.argument("run_id", shell_complete=complete_run_id)
@click.option("-c", "--container", help="Only this container's log.")
@handle_errors
def logs_command(run_id: str, container: str | None) -> None:
    """Print the logs of a run (all containers, prefixed, unless -c is given)."""
    from podtask._run.follow import copy_log
    from podtask._storage import RunDir, RunStore, podtask_home
    from podtask.cli.flow_cmd import workflow_logs_if_known

    if workflow_logs_if_known(run_id, container):
        return

    with RunStore.in_home() as store:
        record = store.get(run_id)
    rd = RunDir.open(podtask_home(), record.run_id)
    if container is not None:
        path = rd.log_path(container)
        if not path.exists():
            names = ", ".join(sorted(p.stem for p in rd.logs_dir.glob("*.log"))) or "none"
            raise SpecError(
                f"no log for container {container!r}",
                field="--container",
                hint=f"containers: {names}",
            )
        copy_log(path, sys.stdout)  # in chunks: a log may be hundreds of MB
        if path.stat().st_size == 0:
            err(f"container {container!r} wrote nothing to stdout or stderr")
        return
    primary = next((c.name for c in record.containers if c.is_primary), None)
    logs = sorted(rd.logs_dir.glob("*.log"), key=lambda p: (p.stem != primary, p.stem))
    for path in logs:
        if path.stat().st_size == 0:
            err(f"[{path.stem}] (wrote nothing to stdout or stderr)")
        else:
            copy_log(path, sys.stdout, prefix=f"[{path.stem}] ")
    if not logs:
        err(f"run {record.run_id} has no container logs (no container started)")


@click.command("describe")
@click.argument("run_id", shell_complete=complete_run_id)
@click.option("--timeline", is_flag=True, help="Draw the containers' lanes on a time axis.")
@handle_errors
def describe_command(run_id: str, timeline: bool) -> None:
    """Show a run: the effective pod, each container's timeline and exit, and why it ended."""
    from podtask._storage import RunDir, RunStore, podtask_home
    from podtask.cli.flow_cmd import describe_workflow_if_known

    if describe_workflow_if_known(run_id):
        return
    with RunStore.in_home() as store:
        store.reap_lost()
        record = store.get(run_id)
    rd = RunDir.open(podtask_home(), record.run_id)
    if timeline:
        from podtask.cli.timeline import describe_timeline

        click.echo(describe_timeline(record, rd), nl=False)
        return
    click.echo(describe_run(record, rd), nl=False)


COMMANDS: list[click.Command] = [run_command, runs_command, logs_command, describe_command]
