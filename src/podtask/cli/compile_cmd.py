"""``podtask compile``: task file -> task template JSON + Pod manifest YAML."""

from __future__ import annotations

import os
from pathlib import Path

import click

from podtask._authoring import load_tasks
from podtask._compile import DEFAULT_IMAGE, CompiledTask, compile_task, to_json, to_yaml
from podtask._compile.portable import ALL_ENGINES
from podtask._contract import ENV_IMAGE
from podtask._storage import schema_cache, write_atomic
from podtask.cli.common import err, handle_errors


def compile_file(path: str, task_name: str | None, image: str | None) -> list[CompiledTask]:
    """Load the file's tasks (or the one named) and compile each; warnings are returned."""
    ref, tasks = load_tasks(path, task_name, field="--task")
    default = os.environ.get(ENV_IMAGE) or DEFAULT_IMAGE
    return [
        compile_task(
            t,
            image=image,
            default_image=default,
            reference=f"{ref.module}:{t.name}",
            base_dir=ref.path.parent,
            schema_cache_dir=schema_cache(),
        )
        for t in tasks
    ]


@click.command("compile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("workflow", required=False)
@click.option("--task", "task_name", metavar="NAME", help="Compile only this task.")
@click.option("--image", metavar="IMAGE", help="Image of the primary container (beats the task's).")
@click.option(
    "--engine",
    type=click.Choice(ALL_ENGINES),
    help="Show what concerns this engine; what it would refuse is an error.",
)
@click.option(
    "--strict", is_flag=True, help="Refuse what any engine would refuse (a portable task)."
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Write NAME.task.json and NAME.pod.yaml here instead of printing the manifest.",
)
@handle_errors
def compile_command(
    file: str,
    workflow: str | None,
    task_name: str | None,
    image: str | None,
    engine: str | None,
    strict: bool,
    output_dir: str | None,
) -> None:
    """Compile the tasks of FILE into task templates and Pod manifests.

    The primary container's image, command and args are overwritten; resources
    are replaced when the task declares any; the task's environment is merged
    over the container's env.  Each overwritten field prints a warning.
    With WORKFLOW, the workflow's graph (WORKFLOW.workflow.json) is written
    beside the template and manifest of each of its tasks.

    Without --engine, warnings concern every engine; with --engine local the
    image warnings are left out (that engine uses no image), and with an engine
    that uses images what it would refuse (a sidecar without image) is an error.
    """
    from podtask.cli.flow_cmd import compile_workflow

    if workflow is not None and compile_workflow(file, workflow, image, output_dir):
        return
    task_name = task_name or workflow
    compiled = compile_file(file, task_name, image)
    for c in compiled:
        for w in c.warnings_for(engine, strict=strict):
            err(f"warning: {c.name}: {w}")
    if output_dir is None:
        click.echo("---\n".join(to_yaml(c.manifest) for c in compiled), nl=False)
        return
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for c in compiled:
        write_atomic(out / f"{c.name}.task.json", to_json(c.template))
        write_atomic(out / f"{c.name}.pod.yaml", to_yaml(c.manifest))
        err(f"wrote {out / (c.name + '.task.json')} and {out / (c.name + '.pod.yaml')}")
