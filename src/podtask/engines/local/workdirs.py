"""Per-pod work directories (overlay layers, emptyDirs), and sweeping the ones left behind.

A pod's work directory is removed when its pod closes.  Only ``kill -9`` of
podtask can leave one behind (nothing runs in a killed process), so every work
directory carries its owner (pid and start time) in its name, and the next
local run removes those whose owner is gone.  The name is given by the one
``mkdir`` that creates the directory, so there is no moment at which a kill
leaves a directory without a known owner (an owner file written afterwards
left one for an hour).  Directories of older versions, which hold an
``owner.json`` instead, are still swept.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from podtask._storage import current_process_identity, process_alive

OWNER_FILE = "owner.json"
UNOWNED_GRACE = 3600.0  # a directory without an owner file yet is someone's fresh one


def work_root() -> Path:
    return Path(tempfile.gettempdir()) / "podtask-pods"


# <run id, at most 40 chars>-o<pid>-<start time>-<mkdtemp's random part, no dashes>
_OWNED_NAME = re.compile(r".*-o(\d+)-(\d+)-[A-Za-z0-9_]+")


def make_work_dir(run_id: str) -> str:
    root = work_root()
    root.mkdir(mode=0o700, exist_ok=True)
    pid, start = current_process_identity()
    return tempfile.mkdtemp(prefix=f"{run_id[:40]}-o{pid}-{start}-", dir=root)


def _owner(path: Path) -> tuple[int, int]:
    """(pid, start time) from the name, else from an older version's owner file."""
    match = _OWNED_NAME.fullmatch(path.name)
    if match:
        return int(match[1]), int(match[2])
    with open(path / OWNER_FILE) as f:
        owner = json.load(f)
    return int(owner["pid"]), int(owner["start_time"])


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
            owner = _owner(path)
            stale = not process_alive(*owner)
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
