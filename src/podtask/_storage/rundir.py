"""The per-run directory: every file a run reads or leaves behind, at a fixed path.

::

    <home>/runs/<run_id>/
    ├── task.json          the compiled task template
    ├── pod.yaml           the rendered pod manifest, as the engine received it
    ├── inputs.json        the task's inputs (literals), read by the entrypoint
    ├── outputs/
    │   ├── outputs.json   written atomically by the entrypoint on success
    │   └── blobs/         files and directories the outputs point at
    ├── error.json         the error document, written when the task fails
    ├── logs/<container>.log   one per container, appended by the engine
    └── events.jsonl       append-only run events, one JSON object per line

Fixed names let every engine (host processes, podman mounts, a Kubernetes
volume) and every later ``podtask`` command find the same files without
consulting the database, so a run stays inspectable even if the db is lost.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podtask._contract import ERROR_FILE, INPUTS_FILE, OUTPUTS_FILE
from podtask._errors import SpecError
from podtask._storage.atomic import read_json
from podtask._storage.faults import pause_for_tests
from podtask._storage.names import is_dns1123_label
from podtask._storage.procs import current_process_identity
from podtask._storage.space import ensure_reserve, full_error, is_full, retry_when_full

RUNS_DIR = "runs"
_LIST_HINT = "run `podtask runs` to list runs"
# {"pid", "start_time"} of the podtask that created the directory, until its record exists
OWNER_FILE = ".owner"
STAGING_PREFIX = ".new-"  # a run directory being built, before its rename into place
_STAGING_NAME = re.compile(re.escape(STAGING_PREFIX) + r".*-o(\d+)-(\d+)")


def owner_of(path: Path) -> tuple[int, int] | None:
    """(pid, start time) of the podtask that created run directory ``path``, if it says.

    A staging directory carries it in its name, a finished one in its owner
    file; a directory of an older podtask has neither (``None``).
    """
    match = _STAGING_NAME.fullmatch(path.name)
    if match:
        return int(match[1]), int(match[2])
    try:
        owner = json.loads((path / OWNER_FILE).read_text())
        return int(owner["pid"]), int(owner["start_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_label(value: str, what: str) -> None:
    """Reject names that could escape the run directory (``..``, ``/``, ``x/../y``)."""
    if not is_dns1123_label(value):
        raise SpecError(
            f"{what} {value!r} is not a valid DNS-1123 label",
            hint="use at most 63 lowercase letters, digits and '-', starting and ending "
            "with a letter or digit",
        )


@dataclass(frozen=True)
class RunDir:
    """Paths of one run's directory; constructing one touches no files."""

    run_id: str
    path: Path

    @classmethod
    def create(cls, home: Path, run_id: str) -> RunDir:
        """Make a new run directory with its ``outputs/blobs`` and ``logs`` subdirectories.

        It appears in one step, owner file included: it is built under a
        hidden name that carries its creator (``.new-<run id>-o<pid>-<start>``)
        and renamed into place.  So at every moment a ``kill -9`` leaves either
        nothing, a directory whose dead owner is known (``RunStore`` sweeps it
        at once, ``owner_of``), or a run with a record (LOST).
        Fails if the directory exists: run ids are unique, so an existing one
        means a bug or a clash, and reusing it could mix two runs' files.
        On a full disk it raises ``StorageFull`` (nothing started) and leaves
        nothing: first the home's reserve must be in place (``space.py``).
        """
        _check_label(run_id, "run id")
        home = Path(home)
        path = home / RUNS_DIR / run_id
        pid, start = current_process_identity()
        staging = path.with_name(f"{STAGING_PREFIX}{run_id}-o{pid}-{start}")
        ensure_reserve(home)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path.exists():
                raise FileExistsError(str(path))
            staging.mkdir(mode=0o700)
            pause_for_tests("run-dir-staged")
            (staging / "outputs" / "blobs").mkdir(parents=True)
            (staging / "logs").mkdir()
            (staging / OWNER_FILE).write_text(json.dumps({"pid": pid, "start_time": start}))
            os.rename(staging, path)  # fails (ENOTEMPTY/EEXIST) if the run id is taken
        except (FileExistsError, IsADirectoryError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise SpecError(f"run directory {str(path)!r} already exists") from exc
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno == errno.ENOTEMPTY:
                raise SpecError(f"run directory {str(path)!r} already exists") from exc
            if is_full(exc):
                raise full_error(home, "create a run directory", nothing_started=True) from exc
            raise
        return cls(run_id=run_id, path=path)

    def remove(self) -> None:
        """Delete the directory and everything in it (a run that never got a record)."""
        shutil.rmtree(self.path, ignore_errors=True)

    @classmethod
    def open(cls, home: Path, run_id: str) -> RunDir:
        """Return the existing directory of ``run_id``; ``SpecError`` when there is none."""
        _check_label(run_id, "run id")
        path = Path(home) / RUNS_DIR / run_id
        if not path.is_dir():
            raise SpecError(
                f"no run directory for run {run_id!r} under {str(home)!r}", hint=_LIST_HINT
            )
        return cls(run_id=run_id, path=path)

    @property
    def task_json(self) -> Path:
        return self.path / "task.json"

    @property
    def pod_yaml(self) -> Path:
        return self.path / "pod.yaml"

    @property
    def inputs_json(self) -> Path:
        return self.path / INPUTS_FILE

    @property
    def outputs_dir(self) -> Path:
        return self.path / "outputs"

    @property
    def outputs_json(self) -> Path:
        return self.outputs_dir / OUTPUTS_FILE

    @property
    def blobs_dir(self) -> Path:
        return self.outputs_dir / "blobs"

    @property
    def error_json(self) -> Path:
        return self.path / ERROR_FILE

    @property
    def logs_dir(self) -> Path:
        return self.path / "logs"

    @property
    def events_jsonl(self) -> Path:
        return self.path / "events.jsonl"

    def log_path(self, container: str) -> Path:
        """Path of ``container``'s log; the name must be a DNS-1123 label (no path tricks)."""
        _check_label(container, "container name")
        return self.logs_dir / f"{container}.log"

    def read_outputs(self) -> Any | None:
        """The outputs document, or ``None`` when the task wrote none (yet)."""
        return read_json(self.outputs_json)

    def read_error(self) -> Any | None:
        """The error document, or ``None`` when the task did not fail (or died silently)."""
        return read_json(self.error_json)

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one event as a JSON line, stamped with ``time`` unless it has one.

        The whole line goes out in a single ``O_APPEND`` write and is fsynced,
        so concurrent writers never interleave within a line and a crash can
        at worst leave a torn last line, which ``read_events`` skips.
        """
        record = dict(event)
        record.setdefault("time", time.time())
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
        retry_when_full(self.events_jsonl, "record a run event", lambda: self._append(line))

    def _append(self, line: bytes) -> None:
        fd = os.open(self.events_jsonl, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # after a torn line (a full disk mid-write): start afresh
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_events(self) -> list[dict[str, Any]]:
        """Every complete event in order; a torn line (from a crash mid-append) is skipped."""
        try:
            raw = self.events_jsonl.read_bytes()
        except FileNotFoundError:
            return []
        events: list[dict[str, Any]] = []
        for line in raw.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                events.append(obj)
        return events
