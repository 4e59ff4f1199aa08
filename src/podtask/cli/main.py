"""The ``podtask`` command: parse, call, print (commands live in one module each).

Commands are imported only when invoked: ``podtask compile`` should not pay for
the run machinery, nor ``podtask runs`` for the compiler.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from podtask.cli.common import (
    EXIT_INTERRUPTED,
    caused_by_interrupt,
    err,
    exit_now,
    leaving,
    print_json_error,
    silence_stdout,
)

# command name -> "module:attribute" of its click.Command
COMMANDS = {
    "compile": "podtask.cli.compile_cmd:compile_command",
    "run": "podtask.cli.run_cmd:run_command",
    "runs": "podtask.cli.run_cmd:runs_command",
    "logs": "podtask.cli.run_cmd:logs_command",
    "describe": "podtask.cli.run_cmd:describe_command",
    "attach": "podtask.cli.kube_cmd:attach_command",
    "bundle": "podtask.cli.bundle_cmd:bundle_command",
    "prune": "podtask.cli.prune_cmd:prune_command",
    "completion": "podtask.cli.completion_cmd:completion_command",
    "ui": "podtask.cli.ui_cmd:ui_command",
    "export": "podtask.cli.export_cmd:export_command",
    "cache": "podtask.cli.flow_cmd:cache_group",
}

# The one-line help ``podtask --help`` lists, kept here so that listing the
# commands imports none of them (and set on each command as it loads).
SUMMARIES = {
    "attach": "Follow a Kubernetes run again, or resume a workflow run.",
    "bundle": "List what --ship-code would ship for FILE, and its size.",
    "cache": "List or clear the cached outputs of tasks with cache=True.",
    "compile": "Compile the tasks of FILE into task templates and Pod manifests.",
    "completion": "Print the completion script for SHELL (bash, zsh, fish).",
    "describe": "Show a run: its pod, containers, events and why it ended.",
    "export": "Export tasks to another system (flyte: a package to register).",
    "logs": "Print the logs of a run.",
    "prune": "Delete finished runs and print what it frees.",
    "run": "Run TASK of FILE (run FILE TASK --help lists its inputs).",
    "runs": "List recent runs, newest first.",
    "ui": "See your runs in a browser: timelines, live logs, errors.",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: Any = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):
            return None
        command.short_help = SUMMARIES.get(cmd_name, command.short_help)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="podtask")
def cli() -> None:
    """podtask: run Python functions as the primary container of a pod with sidecars."""


def main(args: list[str] | None = None) -> None:
    """Run the CLI; every way out is one of the documented exit codes.

    click's standalone mode turns a Ctrl-C into "Aborted!" and exit 1; podtask
    documents 130 for an interrupt, so click runs non-standalone and this
    function does the reporting itself. Called as the program (``args`` None),
    it ends the process through :func:`_exit_now` once the command is done.
    """
    try:
        _main(args)
    except SystemExit as exc:
        if args is None:
            _exit_now(exc.code)
        raise


def _exit_now(code: object) -> None:
    """End the process at once when nothing but the interpreter's teardown is left.

    A normal exit spends 20-30 ms tearing down every imported module and
    collecting garbage after the command has finished, which is more than a
    tenth of a local run. What an exit must still do is done here, in order:
    flush stdout, run the ``atexit`` handlers (open sandboxes,
    ``weakref.finalize`` temp dirs, logging), then end through
    ``common.exit_now`` (130 after a Ctrl-C), the one place the CLI's process
    ends. Only for an integer (or None) exit code and when no non-daemon thread
    is left, which a normal exit would wait for; otherwise this returns and the
    caller exits the ordinary way (``common.last_word`` still decides the code).
    """
    if code is None:
        code = 0
    if not isinstance(code, int):
        return
    threading = sys.modules.get("threading")
    if threading is not None and any(
        t is not threading.main_thread() and not t.daemon and t.is_alive()
        for t in threading.enumerate()
    ):
        return
    import atexit

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except (OSError, ValueError):
        pass
    leaving(code)
    atexit._run_exitfuncs()  # common.last_word, when registered, runs last and ends here
    exit_now(code)


def _main(args: list[str] | None) -> None:
    argv = sys.argv[1:] if args is None else list(args)
    try:
        rv = cli.main(args=argv, prog_name="podtask", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        if "--json" in argv:
            print_json_error("UsageError", exc.format_message(), field=_param_of(exc), hint=None)
        exc.show()
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # `podtask runs | head`: the reader left; say nothing more, as click would.
        silence_stdout()
        sys.exit(1)
    except Exception as exc:
        if not caused_by_interrupt(exc):
            raise
        err("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    sys.exit(rv if isinstance(rv, int) else 0)


def _param_of(exc: click.ClickException) -> str | None:
    param = getattr(exc, "param", None)
    if param is None:
        return None
    opts = getattr(param, "opts", None) or [param.name]
    return str(opts[0])


if __name__ == "__main__":
    main()
