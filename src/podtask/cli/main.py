"""The ``podtask`` command: parse, call, print (commands live in one module each).

Commands are imported only when invoked: ``podtask compile`` should not pay for
the run machinery, nor ``podtask runs`` for the compiler.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# command name -> "module:attribute" of its click.Command
COMMANDS = {
    "compile": "podtask.cli.compile_cmd:compile_command",
    "run": "podtask.cli.run_cmd:run_command",
    "runs": "podtask.cli.run_cmd:runs_command",
    "logs": "podtask.cli.run_cmd:logs_command",
    "describe": "podtask.cli.run_cmd:describe_command",
    "attach": "podtask.cli.kube_cmd:attach_command",
    "ui": "podtask.cli.ui_cmd:ui_command",
    "cache": "podtask.cli.flow_cmd:cache_group",
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
        return command if isinstance(command, click.Command) else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="podtask")
def cli() -> None:
    """podtask: run Python functions as the primary container of a pod with sidecars."""


def main() -> None:
    cli(prog_name="podtask")


if __name__ == "__main__":
    main()
