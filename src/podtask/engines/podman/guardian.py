"""Remove a run's pod if podtask dies without doing it (``kill -9``, a crash).

Podman's containers outlive the client that started them, so each attempt
starts this script in its own session with a pipe on its stdin.  podtask
writes ``done`` when it has removed the pod itself; end of file without
``done`` means podtask died, and the guardian then stops and removes the pod
and this run's volume directories.  Blocking on the pipe costs nothing while
the task runs.

Run as a plain script (``python -I guardian.py ...``): it imports only the
standard library, so it starts in milliseconds and survives a broken podtask
install.
"""

from __future__ import annotations

import shutil
import subprocess
import sys


def main(argv: list[str]) -> int:
    podman, pod, *dirs = argv
    try:
        data = sys.stdin.buffer.read()
    except (OSError, KeyboardInterrupt):
        data = b""
    if data.strip() == b"done":
        return 0

    def call(*args: str) -> int:
        return subprocess.run(
            [podman, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode

    if call("pod", "exists", pod) == 0:
        call("pod", "stop", "-t", "0", pod)
        if call("pod", "rm", pod) != 0:
            call("pod", "rm", "-f", "-t", "0", pod)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
