"""Tasks for the full-disk tests: they write to their log until the disk under it is full."""

import sys

import podtask


@podtask.task
def chatty(kib: int = 40) -> int:
    """Writes ``kib`` KiB to its log, carrying on when the disk is full (like a server would)."""
    line = "x" * 1023 + "\n"
    lost = 0
    for _ in range(kib):
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except OSError:
            lost += 1
    return lost


@podtask.task
def flood(kib: int = 2000) -> int:
    """Prints ``kib`` KiB like most tasks do: the first write that meets the full disk kills it."""
    line = "y" * 1023
    for _ in range(kib):
        print(line, flush=True)
    return kib
