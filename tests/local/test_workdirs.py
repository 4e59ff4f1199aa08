"""Pod work dirs: a kill -9 at any moment leaves nothing that the next run does not sweep."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from podtask.engines.local import workdirs

# Creates a work dir in a child whose os.mkdir SIGKILLs it the moment the
# directory exists: the earliest point a kill -9 can come after the creation.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, tempfile
    tempfile.tempdir = sys.argv[1]
    from podtask.engines.local import workdirs
    real = os.mkdir
    def mkdir(path, *args, **kwargs):
        real(path, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    os.mkdir = mkdir
    workdirs.make_work_dir("run-killed-20261130")
    """
)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    workdirs.work_root().mkdir(mode=0o700)
    return workdirs.work_root()


def test_kill_9_right_after_the_work_dir_exists_leaves_a_dir_the_next_run_sweeps(
    root: Path, tmp_path: Path
) -> None:
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], check=False)
    assert child.returncode == -9
    left = [p.name for p in root.iterdir()]
    assert len(left) == 1 and left[0].startswith("run-killed-20261130")
    assert workdirs.sweep_stale_work_dirs() == [str(root / left[0])]
    assert list(root.iterdir()) == []


def test_a_live_owners_work_dir_is_kept_and_a_fresh_unowned_one_too(root: Path) -> None:
    mine = workdirs.make_work_dir("run-alive")
    legacy = root / "run-legacy-abc"  # an old-style dir still without its owner file
    legacy.mkdir()
    assert workdirs.sweep_stale_work_dirs() == []
    assert Path(mine).is_dir() and legacy.is_dir()
