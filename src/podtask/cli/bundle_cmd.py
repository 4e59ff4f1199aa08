"""``podtask bundle FILE``: what ``--ship-code`` would upload for FILE, file by file, and its size.

The bundle leaves the machine, so users must be able to see it before it does.
This reads no task code: it only lists files.
"""

from __future__ import annotations

import json

import click

from podtask.cli.common import err, handle_errors


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@click.command("bundle")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--include",
    "include",
    multiple=True,
    metavar="PATTERN",
    help="Also ship dotfiles/dot-folders matching PATTERN (as run --ship-code-include).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handle_errors
def bundle_command(file: str, include: tuple[str, ...], as_json: bool) -> None:
    """List what `podtask run FILE --ship-code` would upload, and its size.

    The bundle is the task file's source root (the first folder above FILE
    without an __init__.py). In a git work tree it holds what git would
    commit; .podtaskignore files are honoured; dotfiles, dot-folders, virtual
    environments and caches are left out; symlinks to outside the folder are
    skipped with a warning.
    """
    from podtask._authoring import source_ref
    from podtask._storage.bundle import MAX_BUNDLE_BYTES, plan_code_bundle

    plan = plan_code_bundle(source_ref(file).root, include=include)
    for warning in plan.warnings:
        err(f"warning: {warning}")
    if as_json:
        doc = {
            "root": str(plan.root),
            "git": plan.git,
            "files": [{"path": e.path, "size": e.size} for e in plan.entries],
            "total_bytes": plan.total_bytes,
            "left_out_dot_paths": list(plan.left_out),
        }
        click.echo(json.dumps(doc, sort_keys=True))
    else:
        for e in plan.entries:
            click.echo(f"{e.size:>10}  {e.path}")
        source = "git ls-files" if plan.git else "ignore files read by podtask"
        click.echo(
            f"total: {len(plan.entries)} files, {_size(plan.total_bytes)} "
            f"from {plan.root} ({source})"
        )
        if plan.left_out:
            shown = ", ".join(plan.left_out[:8]) + (", ..." if len(plan.left_out) > 8 else "")
            err(f"left out (dot paths; --include PATTERN ships them): {shown}")
    if plan.total_bytes > MAX_BUNDLE_BYTES:
        err(f"error: over the {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB limit of --ship-code")
        raise SystemExit(2)


COMMANDS: list[click.Command] = [bundle_command]
