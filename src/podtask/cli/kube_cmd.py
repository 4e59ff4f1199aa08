"""``podtask attach`` and the ``runs`` refresh: Kubernetes runs outlive their client.

A pod created by the kubernetes engine finishes on its own, so a client that
was detached (``--detach``), killed or asleep loses nothing: ``attach``
follows the run again (logs, phase, outputs, retries) and ``refresh_runs``
settles what finished meanwhile, looking the pods up by their run-id label.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import click

from podtask._errors import PodtaskError, SpecError
from podtask.cli.common import complete_run_id, err, finish_run, handle_errors

ENGINE = "kubernetes"


@click.command("attach")
@click.argument("run_id", shell_complete=complete_run_id)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@handle_errors
def attach_command(run_id: str, as_json: bool) -> None:
    """Follow a Kubernetes run again: its logs, phase and outputs, to the end.

    Ctrl-C stops the run, as it would have for `podtask run`.  Exit codes as
    for `podtask run`.
    """
    from podtask._run import LogFollower, Runner, RunOptions
    from podtask._storage import RunStore
    from podtask.cli.flow_cmd import attach_workflow_if_known
    from podtask.cli.run_cmd import _Interrupts
    from podtask.engines import get_engine

    attach_workflow_if_known(run_id, as_json)  # resumes and exits when run_id is a workflow run
    with RunStore.in_home() as store:
        record = store.get(run_id)
    if record.engine != ENGINE:
        raise SpecError(
            f"run {record.run_id} ran on the {record.engine} engine",
            hint="only kubernetes runs can be attached; see `podtask logs` and `podtask describe`",
        )
    log_out = sys.stderr if as_json else sys.stdout
    followers: list[LogFollower] = []

    def emit(container: str, line: str) -> None:
        print(f"[{container}] {line}", file=log_out, flush=True)

    def on_start(rid: str, rd: Any) -> None:
        err(f"attached to run {rid}")
        followers.append(LogFollower(rd.logs_dir, emit).start())

    cancel, hurry = threading.Event(), threading.Event()
    options = RunOptions(
        engine=get_engine(ENGINE), cancel=cancel, hurry=hurry, notice=err, on_start=on_start
    )
    runner = Runner.existing(record.run_id, options)
    with _Interrupts(cancel, hurry):
        try:
            result = runner.attach()
        finally:
            for f in followers:
                f.stop()
    finish_run(result, as_json=as_json)


def refresh_runs(store: Any, *, limit: int = 200) -> dict[str, str]:
    """Settle unfinished Kubernetes runs nobody follows; returns run id -> phase or problem.

    Called by ``podtask runs`` before listing.  Costs nothing (no client import)
    when there is no unfinished Kubernetes run.  A run another podtask process
    is following is left to it; a finished attempt is settled and a retry, if
    any, is submitted without waiting for it.
    """
    from podtask._storage import TERMINAL_PHASES

    pending = [
        r for r in store.list(limit) if r.engine == ENGINE and r.phase not in TERMINAL_PHASES
    ]
    if not pending:
        return {}
    from podtask._run import Runner, RunOptions
    from podtask.engines import get_engine

    engine = get_engine(ENGINE)
    done: dict[str, str] = {}
    for record in pending:
        try:
            runner = Runner.existing(record.run_id, RunOptions(engine=engine, detach=True))
            done[record.run_id] = runner.refresh()
        except PodtaskError as exc:
            done[record.run_id] = f"not refreshed: {exc}"
    return done


COMMANDS: list[click.Command] = [attach_command]
