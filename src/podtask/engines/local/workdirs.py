"""Per-pod work directories (overlay layers, emptyDirs), and sweeping the ones left behind.

A pod's work directory is removed when its pod closes.  Only ``kill -9`` of
podtask can leave one behind (nothing runs in a killed process), so every work
directory records its owner (pid and start time) and the next local run
removes those whose owner is gone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from podtask._storage import current_process_identity, process_alive

OWNER_FILE = "owner.json"
UNOWNED_GRACE = 3600.0  # a directory without an owner file yet is someone's fresh one


def work_root() -> Path:
    return Path(tempfile.gettempdir()) / "podtask-pods"


def make_work_dir(run_id: str) -> str:
    root = work_root()
    root.mkdir(mode=0o700, exist_ok=True)
    path = tempfile.mkdtemp(prefix=f"{run_id[:40]}-", dir=root)
    pid, start = current_process_identity()
    with open(os.path.join(path, OWNER_FILE), "w") as f:
        json.dump({"pid": pid, "start_time": start}, f)
    return path


def sweep_stale_work_dirs() -> list[str]:
    """Remove the work directories whose podtask process died; returns what was removed."""
    root = work_root()
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    removed = []
    for path in entries:
        try:
            with open(path / OWNER_FILE) as f:
                owner = json.load(f)
            stale = not process_alive(int(owner["pid"]), int(owner["start_time"]))
        except FileNotFoundError:
            try:
                stale = time.time() - path.stat().st_mtime > UNOWNED_GRACE
            except OSError:
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed
