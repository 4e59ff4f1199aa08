"""``flyte-package.tgz``: what ``pyflyte package`` writes and ``flytectl register files`` reads.

One entry per task, ``<index>_<MODULE.NAME>_1.pb`` (1 is flyteidl's
``ResourceType.TASK``), each a serialized ``admin.TaskSpec``.  Unlike
``pyflyte package`` the archive is byte-identical from run to run: entries
are sorted as given, with fixed times and owners, and protobuf maps are
serialized deterministically.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Sequence
from pathlib import Path

from podtask._storage import write_atomic
from podtask.interop.flyte.template import ExportedTask

PACKAGE_FILE = "flyte-package.tgz"
TASK_RESOURCE_TYPE = 1


def entry_name(index: int, task: ExportedTask) -> str:
    return f"{index}_{task.name}_{TASK_RESOURCE_TYPE}.pb"


def package_bytes(tasks: Sequence[ExportedTask]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for i, task in enumerate(tasks):
            data = task.spec.SerializeToString(deterministic=True)
            info = tarfile.TarInfo(entry_name(i, task))
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def write_package(tasks: Sequence[ExportedTask], out_dir: Path) -> Path:
    """Write ``out_dir/flyte-package.tgz`` atomically; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PACKAGE_FILE
    write_atomic(path, package_bytes(tasks))
    return path
