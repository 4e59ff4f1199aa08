"""The ``podtask`` command: parse, call, print (commands live in one module each)."""

from __future__ import annotations

import click

from podtask.cli import compile_cmd, kube_cmd, run_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="podtask")
def cli() -> None:
    """podtask: run Python functions as the primary container of a pod with sidecars."""


cli.add_command(compile_cmd.compile_command)
for _command in [*run_cmd.COMMANDS, *kube_cmd.COMMANDS]:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="podtask")


if __name__ == "__main__":
    main()
