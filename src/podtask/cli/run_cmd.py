"""``podtask run``, ``runs``, ``logs``, ``describe``: execute tasks and inspect their runs."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from podtask._errors import SpecError
from podtask.cli.common import EXIT_OK, err, finish_run, handle_errors
from podtask.cli.show import describe_run, print_runs, status_line


def parse_input_args(extra: list[str]) -> dict[str, str]:
    """``--name VALUE`` / ``--name=VALUE`` pairs after the task name; dashes mean underscores."""
    out: dict[str, str] = {}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--":
            raise SpecError(
                f"unexpected argument {token!r}", field="inputs", hint="pass inputs as --NAME VALUE"
            )
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 >= len(extra):
                raise SpecError(f"--{name} needs a value", field=name.replace("-", "_"))
            value = extra[i + 1]
            i += 1
        key = name.replace("-", "_")
        if key in out:
            raise SpecError(f"--{name} is given twice", field=key)
        out[key] = value
        i += 1
    return out


class _Interrupts:
    """Ctrl-C and SIGTERM ask the run to stop (teardown still happens); a second one hurries it."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.count = 0
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.count += 1
        if self.count == 1:
            err(f"\n{signal.Signals(signum).name}: stopping the pod (again to stop waiting for it)")
        self.cancel.set()

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


@click.command("run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("task", required=False)
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
    help="[kubernetes] Upload the task's source as a bundle (default when storage is not local).",
)
@click.pass_context
@handle_errors
def run_command(
    ctx: click.Context,
    file: str,
    task: str | None,
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
) -> None:
    """Run TASK of FILE; task inputs are options: --in1 VALUE.

    Exit codes: 0 succeeded, 1 the task failed, 2 bad input or spec (nothing
    was started), 130 interrupted.
    """
    from podtask._authoring import load_tasks
    from podtask._run import LogFollower, Runner, RunOptions
    from podtask._types import parse_cli_value
    from podtask.engines import get_engine

    if grace is not None and grace < 0:
        raise SpecError("must be >= 0", field="--grace")
    raw = parse_input_args(list(ctx.args))
    _, tasks = load_tasks(file, task)
    if len(tasks) > 1:
        names = ", ".join(t.name for t in tasks)
        raise SpecError(f"{file} defines several tasks", field="TASK", hint=f"name one of: {names}")
    chosen = tasks[0]
    values: dict[str, Any] = {}
    for name, text in raw.items():
        var = chosen.interface.input(name)
        if var is None:
            names = ", ".join(f"--{v.name}" for v in chosen.interface.inputs) or "none"
            raise SpecError(
                f"{chosen.name} has no input {name!r}", field=name, hint=f"inputs: {names}"
            )
        values[name] = parse_cli_value(text, var.type, name=name)

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
        follower.append(LogFollower(rd.logs_dir, emit_log))

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

    cancel = threading.Event()
    options = RunOptions(
        engine=get_engine(engine),
        inputs=values,
        image=image,
        grace=grace,
        sidecar_mode=sidecar_mode,
        system_retries=system_retries,
        cancel=cancel,
        notice=err,
        on_status=on_status,
        on_start=on_start,
        engine_options={
            k: v
            for k, v in {
                "namespace": namespace,
                "context": kube_context,
                "storage": storage,
                "detach": detach or None,
                "ship_code": ship_code,
            }.items()
            if v is not None
        },
    )
    runner = Runner(file, chosen.name, options)
    with _Interrupts(cancel):
        try:
            result = runner.run()
        finally:
            for f in follower:
                f.stop()
            if tty:
                sys.stderr.write("\r\033[K")
    if detach:
        click.echo(result.run_id)
        sys.exit(EXIT_OK)
    if not as_json:
        for issue in result.sidecar_issues:
            err(f"note: {issue}")
    finish_run(result, as_json=as_json)


@click.command("runs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def runs_command(limit: int, as_json: bool) -> None:
    """List recent runs, newest first (runs whose podtask died show as LOST)."""
    from podtask._storage import RunStore
    from podtask.cli.kube_cmd import refresh_runs

    with RunStore.in_home() as store:
        refresh_runs(store)  # unfinished kubernetes runs: ask the cluster (no import otherwise)
        store.reap_lost()
        records = store.list(limit)
    print_runs(records, as_json=as_json)


@click.command("logs")
@click.argument("run_id")
@click.option("-c", "--container", help="Only this container's log.")
@handle_errors
def logs_command(run_id: str, container: str | None) -> None:
    """Print the logs of a run (all containers, prefixed, unless -c is given)."""
    from podtask._storage import RunDir, RunStore, podtask_home

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
        sys.stdout.write(path.read_text(errors="replace"))
        return
    primary = next((c.name for c in record.containers if c.is_primary), None)
    logs = sorted(rd.logs_dir.glob("*.log"), key=lambda p: (p.stem != primary, p.stem))
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            click.echo(f"[{path.stem}] {line}")


@click.command("describe")
@click.argument("run_id")
@handle_errors
def describe_command(run_id: str) -> None:
    """Show a run: the effective pod, each container's timeline and exit, and why it ended."""
    from podtask._storage import RunDir, RunStore, podtask_home

    with RunStore.in_home() as store:
        store.reap_lost()
        record = store.get(run_id)
    rd = RunDir.open(podtask_home(), record.run_id)
    click.echo(describe_run(record, rd), nl=False)


COMMANDS: list[click.Command] = [run_command, runs_command, logs_command, describe_command]
