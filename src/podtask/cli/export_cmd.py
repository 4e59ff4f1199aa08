"""``podtask export flyte``: task file -> ``flyte-package.tgz`` for ``flytectl register files``."""

from __future__ import annotations

from pathlib import Path

import click

from podtask.cli.common import err, handle_errors


@click.group("export")
def export_command() -> None:
    """Export tasks for another system (Flyte)."""


@export_command.command("flyte")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--task", "task_name", metavar="NAME", help="Export only this task.")
@click.option("--image", required=True, metavar="IMAGE", help="Image of the primary container.")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Directory for flyte-package.tgz.",
)
@click.option("--project", default="", help="Flyte project (else set at registration).")
@click.option("--domain", default="", help="Flyte domain (else set at registration).")
@click.option("--version", "version", default="", help="Task version (else set at registration).")
@click.option(
    "--legacy-sidecar",
    is_flag=True,
    help="Write the old 'sidecar' task type, for deployments that run the sidecar plugin.",
)
@handle_errors
def export_flyte_command(
    file: str,
    task_name: str | None,
    image: str,
    output_dir: str,
    project: str,
    domain: str,
    version: str,
    legacy_sidecar: bool,
) -> None:
    """Write FILE's tasks as flyteidl TaskSpecs into flyte-package.tgz (as `pyflyte package`).

    The primary container runs `python3 -m podtask.entrypoint flyte ...` with
    Flyte's placeholders, so IMAGE needs podtask[flyte] installed.
    """
    from podtask.interop.flyte._idl import prefer_pure_python_protobuf

    # Before the task file is imported: a seed pod spec (k8s-proto) next to flyteidl.
    prefer_pure_python_protobuf()
    from podtask._authoring import load_tasks
    from podtask.interop.flyte.package import write_package
    from podtask.interop.flyte.template import Registration, export_task

    ref, tasks = load_tasks(file, task_name)
    reg = Registration(project=project, domain=domain, version=version)
    exported = [
        export_task(
            t,
            image=image,
            reference=f"{ref.module}:{t.name}",
            registration=reg,
            base_dir=ref.path.parent,
            legacy_sidecar=legacy_sidecar,
        )
        for t in tasks
    ]
    for e in exported:
        for w in e.warnings:
            err(f"warning: {e.name}: {w}")
    path = write_package(exported, Path(output_dir))
    err(f"wrote {path} ({', '.join(e.name for e in exported)})")
