"""``podtask logs`` of a workflow run: what it shows, and what it says when there is nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import write_task_file
from tests.conftest import run_cli
from tests.run.conftest import needs_namespaces

WORKFLOW = """
    import podtask


    @podtask.task
    def loud(x: int) -> int:
        print(f"loud got {x}")
        return x + 1


    @podtask.task
    def quiet(v: int) -> int:
        return v * 2


    @podtask.workflow
    def pair(x: int = 1) -> int:
        return quiet(v=loud(x=x))
"""


def workflow_run(tmp_path: Path) -> str:
    path = write_task_file(tmp_path, "wf.py", WORKFLOW)
    r = run_cli("run", str(path), "pair", "--x", "3", "--json")
    assert r.returncode == 0, r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    assert isinstance(run_id, str)
    return run_id


@needs_namespaces
def test_logs_of_a_workflow_show_each_node_and_say_which_wrote_nothing(tmp_path: Path) -> None:
    r = run_cli("logs", workflow_run(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[loud/primary] loud got 3\n"
    assert "[quiet/primary] (wrote nothing to stdout or stderr)" in r.stderr


@needs_namespaces
def test_logs_of_a_workflow_whose_node_runs_were_pruned_say_so_and_fail(tmp_path: Path) -> None:
    """Review item 16: it printed nothing and exited 0.

    Partly pruned: what is left, a note per pruned node, exit 0.  All pruned:
    exit 1 with the reason, as ``kubectl logs`` fails for a deleted pod.
    """
    run_id = workflow_run(tmp_path)
    runs = json.loads(run_cli("runs", "--json").stdout)
    quiet = next(r["run_id"] for r in runs if r["task"].endswith(":quiet"))
    pruned = run_cli("prune", "--keep", "1")  # the newest (quiet) stays
    assert pruned.returncode == 0, pruned.stderr
    part = run_cli("logs", run_id)
    assert part.returncode == 0, part.stderr
    assert part.stdout == ""
    assert "[loud] (run loud-" in part.stderr and "was pruned: its logs are gone" in part.stderr
    assert "[quiet/primary] (wrote nothing to stdout or stderr)" in part.stderr
    assert quiet in {r["run_id"] for r in json.loads(run_cli("runs", "--json").stdout)}
    assert run_cli("prune", "--keep", "0").returncode == 0
    gone = run_cli("logs", run_id)
    assert gone.returncode == 1
    assert gone.stdout == ""
    last = gone.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: workflow run {run_id} has no logs left: the runs of its nodes")
    assert "Traceback" not in gone.stderr
