"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Outputs, error documents and run metadata are written while podtask or the
task may be killed at any moment; writing to a temporary sibling and renaming
it over the target (``os.replace`` is atomic within one filesystem) means a
crash leaves either the previous content or the complete new content. The
file and its directory are fsynced so the rename also survives a power loss.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from podtask._errors import InfrastructureError
from podtask._storage.space import retry_when_full

# Temporary files start with this prefix so a crash's leftovers are recognisable.
TEMP_PREFIX = ".podtask-tmp-"


def _fsync_dir(directory: Path) -> None:
    """Persist a rename by fsyncing its directory (not possible on every OS)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows cannot open directories; the rename is still atomic
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically; ``str`` is encoded as UTF-8.

    The temporary file lives in the target's directory so the final rename
    never crosses filesystems, and it is removed on any failure so errors
    leave no debris next to the old file.  On a full disk the podtask home's
    reserve is freed and the write tried once more (see ``space.py``); then
    ``StorageFull`` (an ``OSError``) names the home and its free space.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    retry_when_full(target, f"write {target}", lambda: _write_atomic(target, payload, mode))


def _write_atomic(target: Path, payload: bytes, mode: int) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0o600; match what open() would have made
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def dumps_json(obj: Any) -> str:
    """Serialise ``obj`` the one way podtask writes JSON: stable, readable, diffable."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as JSON atomically (sorted keys, indent 2, trailing newline).

    The object is fully encoded before the file is touched, so an object JSON
    cannot encode raises ``TypeError``/``ValueError`` and the old file stays.
    """
    write_atomic(path, dumps_json(obj))


def read_json(path: str | os.PathLike[str]) -> Any | None:
    """Return the JSON document at ``path``, or ``None`` when it does not exist.

    Missing is a normal state (no outputs yet, no error) so callers test for
    ``None`` instead of catching. A corrupt file raises ``InfrastructureError``
    rather than reading as missing: atomic writes mean it should never happen,
    and hiding it would hide lost data.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InfrastructureError(f"{str(path)!r} is not valid JSON: {exc}") from exc
