"""Tasks that flood their log: the client must stay small and the cap must hold."""

import sys

import podtask


@podtask.task
def flood(mb: int = 300, newline: bool = False, tail: str = "") -> int:
    chunk = "x" * (1024 * 1024)
    for _ in range(mb):
        sys.stdout.write(chunk)
    if newline:
        sys.stdout.write("\n")
    if tail:
        sys.stdout.write("\n" + tail + "\n")
    sys.stdout.flush()
    return mb
