"""``podtask prune``: delete finished runs (record and directory) to free disk space."""

from __future__ import annotations

import json

import click

from podtask._errors import SpecError
from podtask.cli.common import err, handle_errors
from podtask.cli.retention import MAX_KEEP, parse_age

FINISHED = ("SUCCEEDED", "FAILED", "ABORTED", "LOST")


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def apply_retention(keep: int | None, older_than: float | None, *, spare: str) -> None:
    """Prune after a run as the retention setting says; problems are warnings only."""
    if keep is None and older_than is None:
        return
    from podtask._errors import PodtaskError
    from podtask._storage import RunStore, podtask_home
    from podtask._storage.prune import Criteria, prune

    try:
        home = podtask_home()
        with RunStore.in_home(home) as store:
            done = prune(store, home, Criteria(older_than=older_than, keep=keep), spare={spare})
    except (PodtaskError, OSError) as exc:
        err(f"warning: retention: could not prune old runs: {exc}")
        return
    if done:
        freed = human_size(sum(p.bytes for p in done))
        err(f"retention: deleted {len(done)} old run(s), freed {freed}")


@click.command("prune")
@click.option("--older-than", metavar="AGE", help="Only runs created more than AGE ago (7d, 12h).")
@click.option(
    "--keep",
    type=click.IntRange(min=0, max=MAX_KEEP),
    metavar="N",
    help="Keep the N newest runs whatever else matches.",
)
@click.option(
    "--phase",
    "phases",
    multiple=True,
    type=click.Choice(FINISHED, case_sensitive=False),
    help="Only runs that ended so (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handle_errors
def prune_command(
    older_than: str | None,
    keep: int | None,
    phases: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Delete finished runs (record, logs, outputs) and print what it frees.

    Runs still going are never touched. Conditions combine: `podtask prune
    --older-than 7d --keep 20` deletes runs older than a week except the 20
    newest. At least one condition is needed; `--dry-run` lists instead.

    A retention setting prunes after every run: PODTASK_KEEP_RUNS=N keeps the N
    newest, PODTASK_KEEP_FOR=AGE deletes runs older than AGE.
    """
    from podtask._storage import RunStore, podtask_home
    from podtask._storage.prune import Criteria, prune

    criteria = Criteria(
        older_than=parse_age(older_than, field="--older-than") if older_than else None,
        keep=keep,
        phases=frozenset(p.upper() for p in phases) or None,
    )
    if criteria.empty:
        raise SpecError(
            "say which runs to delete",
            field="prune",
            hint="give --older-than AGE, --keep N and/or --phase PHASE (add --dry-run to preview)",
        )
    home = podtask_home()
    with RunStore.in_home(home) as store:
        store.reap_lost()
        done = prune(store, home, criteria, dry_run=dry_run)
    total = sum(p.bytes for p in done)
    if as_json:
        runs = [{"run_id": p.run_id, "phase": p.phase, "bytes": p.bytes} for p in done]
        doc = {"dry_run": dry_run, "runs": runs, "bytes": total}
        click.echo(json.dumps(doc, sort_keys=True))
        return
    verb = "would delete" if dry_run else "deleted"
    for p in done:
        click.echo(f"{verb} {p.run_id}  {p.phase}  {human_size(p.bytes)}")
    freed = "would free" if dry_run else "freed"
    click.echo(f"{verb} {len(done)} run(s), {freed} {human_size(total)}")
