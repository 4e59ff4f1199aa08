"""The pod's side of the kubernetes engine's API-only transport (no storage, no shared files).

The engine mounts a ConfigMap holding the code bundle and ``inputs.json``
and sets two environment variables (see ``podtask.engines.kubernetes.transport``):

- ``$PODTASK_CODE_BUNDLE``: a zip to unpack onto ``sys.path`` before the task
  module is imported (``load_code``);
- ``$PODTASK_RESULT_MESSAGE``: the primary's termination-message file, where
  ``publish`` writes the results once the task is done, compactly encoded,
  because the kubelet keeps only 4 KiB of it.

Both functions do nothing when their variable is unset, so the entrypoint can
call them unconditionally.  The entrypoint's own start and end times travel
with the results: they are finer than the kubelet's whole seconds.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from podtask.engines.kubernetes import transport

_started = time.time()


def mark_started() -> None:
    """The entrypoint began now (the module may have been imported long before the fork)."""
    global _started
    _started = time.time()


def load_code() -> None:
    """Unpack the shipped code bundle next to the outputs and put it first on ``sys.path``."""
    global _started
    _started = time.time()
    bundle = os.environ.pop(transport.CODE_BUNDLE_ENV, None)
    if not bundle:
        return
    import tempfile

    from podtask._storage.remote import unpack_code_bundle

    Path(transport.WORK_DIR).mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix="code-", dir=transport.WORK_DIR))
    unpack_code_bundle(Path(bundle).read_bytes(), dest)
    sys.path.insert(0, str(dest))


def publish(output_prefix: str) -> None:
    """Write the results in ``output_prefix`` as the termination message (never raises)."""
    path = os.environ.get(transport.RESULT_MESSAGE_ENV)
    if not path:
        return
    import json

    try:
        files = transport.collect_results(Path(output_prefix))
        times = {"started": _started, "finished": time.time()}
        files[transport.TIMES_FILE] = json.dumps(times).encode()
        message = transport.encode_results(files)
        with open(path, "w", encoding="ascii") as f:
            f.write(message)
    except Exception as exc:  # the status then carries the log tail instead; say why there
        print(f"podtask: cannot write the results to {path}: {exc}", file=sys.stderr)


__all__ = ["load_code", "mark_started", "publish"]
