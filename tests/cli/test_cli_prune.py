"""Issue 11 item 8: ``podtask prune``, retention after each run, and the ``runs`` filters."""

from __future__ import annotations

import json
import time
from pathlib import Path

from podtask._storage import RunDir, RunRecord, RunStore
from tests.cli.conftest import json_error, run_script, write_task_file
from tests.conftest import run_cli

DAY = 86400.0


def _make_run(
    home: Path, run_id: str, *, age_days: float, phase: str = "SUCCEEDED", task: str = "t"
) -> Path:
    """A finished run as podtask leaves it: a record and a directory with a log."""
    rd = RunDir.create(home, run_id)
    (rd.logs_dir / "primary.log").write_text("x" * 5000)
    created = time.time() - age_days * DAY
    with RunStore.in_home(home) as store:
        store.create(
            RunRecord(
                run_id=run_id,
                task=task,
                source=f"mod:{task}",
                engine="local",
                phase=phase,
                run_dir=str(rd.path),
                created_at=created,
                ended_at=created + 1,
            )
        )
    return rd.path


def _ids(home: Path) -> set[str]:
    with RunStore.in_home(home) as store:
        return {r.run_id for r in store.list(1000)}


def test_prune_older_than_deletes_record_and_directory(podtask_home: Path) -> None:
    old = _make_run(podtask_home, "old-1", age_days=10)
    old_failed = _make_run(podtask_home, "old-2", age_days=9, phase="FAILED")
    new = _make_run(podtask_home, "new-1", age_days=1)
    preview = run_cli("prune", "--older-than", "7d", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert "would delete old-1  SUCCEEDED" in preview.stdout
    assert "would delete 2 run(s), would free 9.8 KB" in preview.stdout
    assert old.exists() and _ids(podtask_home) == {"old-1", "old-2", "new-1"}

    done = run_script("prune", "--older-than", "7d", "--phase", "failed", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc == {
        "bytes": 5000,
        "dry_run": False,
        "runs": [{"bytes": 5000, "phase": "FAILED", "run_id": "old-2"}],
    }
    assert not old_failed.exists() and old.exists() and new.exists()
    assert _ids(podtask_home) == {"old-1", "new-1"}
    assert not [p for p in (podtask_home / "runs").iterdir() if p.name.startswith(".")]
    assert run_cli("describe", "old-2").returncode == 2


def test_prune_keep_spares_the_newest_and_unfinished_runs(podtask_home: Path) -> None:
    for i in range(5):
        _make_run(podtask_home, f"run-{i}", age_days=5 - i)
    _make_run(podtask_home, "going", age_days=30, phase="RUNNING")
    proc = run_cli("prune", "--keep", "2")
    assert proc.returncode == 0, proc.stderr
    assert "deleted 3 run(s)" in proc.stdout
    assert _ids(podtask_home) == {"run-3", "run-4", "going"}


def test_prune_needs_a_condition_and_a_valid_age(podtask_home: Path) -> None:
    _make_run(podtask_home, "kept", age_days=100)
    bare = run_script("prune", "--json")
    assert bare.returncode == 2
    assert "--older-than" in json_error(bare.stdout)["hint"]
    bad = run_cli("prune", "--older-than", "7 days")
    assert bad.returncode == 2
    assert "--older-than: '7 days' is not an age" in bad.stderr
    assert _ids(podtask_home) == {"kept"}


def test_retention_setting_prunes_after_each_run(
    tmp_path: Path, podtask_home: Path, needs_root: None
) -> None:
    _make_run(podtask_home, "ancient", age_days=40)
    _make_run(podtask_home, "recent", age_days=0.5)
    task = write_task_file(
        tmp_path, "quick.py", "import podtask\n\n@podtask.task\ndef quick() -> int:\n    return 1\n"
    )
    proc = run_cli("run", str(task), "--json", env={"PODTASK_KEEP_FOR": "30d"})
    assert proc.returncode == 0, proc.stderr
    assert "retention: deleted 1 old run(s)" in proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    assert _ids(podtask_home) == {"recent", run_id}
    proc = run_cli("run", str(task), env={"PODTASK_KEEP_RUNS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert len(_ids(podtask_home)) == 1
    bad = run_cli("run", str(task), env={"PODTASK_KEEP_RUNS": "many"})
    assert bad.returncode == 2
    assert "PODTASK_KEEP_RUNS: must be a whole number" in bad.stderr
    assert len(_ids(podtask_home)) == 1


def test_runs_filters(podtask_home: Path) -> None:
    _make_run(podtask_home, "a-ok", age_days=3, task="alpha")
    _make_run(podtask_home, "a-bad", age_days=2, task="alpha", phase="FAILED")
    _make_run(podtask_home, "b-ok", age_days=0.1, task="beta")

    def listed(*args: str) -> list[str]:
        proc = run_cli("runs", "--json", *args)
        assert proc.returncode == 0, proc.stderr
        return [r["run_id"] for r in json.loads(proc.stdout)]

    assert listed() == ["b-ok", "a-bad", "a-ok"]
    assert listed("--task", "alpha") == ["a-bad", "a-ok"]
    assert listed("--phase", "failed") == ["a-bad"]
    assert listed("--phase", "FAILED", "--phase", "succeeded") == ["b-ok", "a-bad", "a-ok"]
    assert listed("--engine", "kubernetes") == []
    assert listed("--since", "1d") == ["b-ok"]
    assert listed("--task", "alpha", "--limit", "1") == ["a-bad"]
    bad = run_cli("runs", "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_runs_phase_must_be_a_phase() -> None:
    proc = run_cli("runs", "--phase", "DONE")
    assert proc.returncode == 2
    assert "--phase" in proc.stderr and "'succeeded'" in proc.stderr
