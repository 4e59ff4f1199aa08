"""Shell completion: ``podtask completion bash|zsh|fish`` prints the script to source.

Completion runs through click's protocol (the script calls ``podtask`` with
``_PODTASK_COMPLETE`` set). Commands and options come from click; after
``podtask run FILE`` the task names of FILE are offered, and after the task
its inputs (``--in1``); ``logs``, ``describe`` and ``attach`` complete run ids.
Finding the tasks imports FILE as ``run`` would; anything
that goes wrong there (or that the file prints) is kept off the completions.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_PODTASK_COMPLETE"


def _file_tasks(file: str | None) -> list[Any]:
    if not file:
        return []
    from podtask._authoring import Task, load_file

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            _, tasks = load_file(file)
    except Exception:  # completion must never fail the shell: offer nothing instead
        return []
    return [t for t in tasks if isinstance(t, Task)]


def _typed_task(ctx: click.Context, tasks: list[Any]) -> Any:
    typed = [a for a in ctx.params.get("task_and_inputs") or () if not a.startswith("-")]
    if typed:
        return next((t for t in tasks if t.name == typed[0]), None)
    return tasks[0] if len(tasks) == 1 else None


def complete_task_or_input(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """After FILE: its task names (or, once a task is given, its inputs)."""
    from click.shell_completion import CompletionItem

    tasks = _file_tasks(ctx.params.get("file"))
    given = ctx.params.get("task_and_inputs") or ()
    if not given and not incomplete.startswith("-"):
        return [
            CompletionItem(t.name, help=(t.fn.__doc__ or "").strip().split("\n")[0])
            for t in tasks
            if t.name.startswith(incomplete)
        ]
    return input_items(ctx, incomplete, tasks)


def input_items(
    ctx: click.Context, incomplete: str, tasks: list[Any] | None = None
) -> list[CompletionItem]:
    """``--NAME`` of each input of the task being run that starts with ``incomplete``."""
    from click.shell_completion import CompletionItem

    if tasks is None:
        tasks = _file_tasks(ctx.params.get("file"))
    task = _typed_task(ctx, tasks)
    if task is None:
        return []
    return [
        CompletionItem(f"--{v.name}", help=str(v.type))
        for v in task.interface.inputs
        if f"--{v.name}".startswith(incomplete)
    ]


def complete_run_id(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The ids of recent runs that start with ``incomplete``, newest first, with their task."""
    from click.shell_completion import CompletionItem

    from podtask._errors import PodtaskError
    from podtask._storage import RunStore

    try:
        with RunStore.in_home() as store:
            records = store.list(200)
    except (PodtaskError, OSError):
        return []
    return [
        CompletionItem(r.run_id, help=f"{r.task} {r.phase}")
        for r in records
        if r.run_id.startswith(incomplete)
    ]


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the completion script for SHELL; load it from your shell's startup file.

    \b
    bash:  eval "$(podtask completion bash)"    (in ~/.bashrc)
    zsh:   eval "$(podtask completion zsh)"     (in ~/.zshrc)
    fish:  podtask completion fish > ~/.config/fish/completions/podtask.fish
    """
    from click.shell_completion import get_completion_class

    from podtask.cli.main import cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(cli, {}, "podtask", COMPLETE_VAR).source())
