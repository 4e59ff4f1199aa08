"""Remove a run's pod if podtask dies without doing it (``kill -9``, a crash).

Podman's containers outlive the client that started them, so each attempt
starts this script in its own session with a pipe on its stdin.  podtask
writes ``done`` when it has removed the pod itself; end of file without
``done`` means podtask died, and the guardian then stops and removes the pod,
unmounts the subPath staging binds and removes this run's volume directories.
Blocking on the pipe costs nothing while the task runs.

Run as a plain script (``python -I guardian.py ...``): it imports only the
standard library, so it starts in milliseconds and survives a broken podtask
install.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys

MNT_DETACH = 2
_OCTAL = re.compile(rb"\\([0-7]{3})")  # mountinfo writes space, tab, newline, \ as \ooo


def _mount_points_below(root: str) -> list[str]:
    prefix = root.rstrip("/") + "/"
    with open("/proc/self/mountinfo", "rb") as f:
        points = [
            os.fsdecode(_OCTAL.sub(lambda m: bytes([int(m[1], 8)]), line.split()[4])) for line in f
        ]
    return [p for p in points if p == root or p.startswith(prefix)]


def unmount_below(root: str) -> bool:
    """Unmount everything mounted at or below ``root``; True when nothing is left mounted.

    The podman engine binds each subPath onto a staging path under the run's
    work directory; those must go before the directory is deleted, or the
    delete would walk through the bind into the volume (or the host path).
    Callers delete ``root`` only when this returns True.
    """
    root = os.path.realpath(root)
    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(8):  # a path bound twice (a restarted container) is stacked
        points = _mount_points_below(root)
        if not points:
            return True
        for point in sorted(set(points), key=len, reverse=True):
            libc.umount2(os.fsencode(point), MNT_DETACH)
    return not _mount_points_below(root)


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
        if unmount_below(d):  # never delete through a subPath's bind mount
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
