"""``podtask run``, ``runs``, ``logs``, ``describe``: execute tasks and inspect their runs."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
