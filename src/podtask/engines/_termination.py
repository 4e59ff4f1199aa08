"""A container's termination message, read as the kubelet reads it (for local and podman).

The kubelet fills ``state.terminated.message`` from the file at
``terminationMessagePath`` (its first 4096 bytes); with
``terminationMessagePolicy: FallbackToLogsOnError``, when that file is empty
and the container failed, from the last 80 lines of its log instead, at most
2048 bytes of them (the kubelet's MaxContainerTerminationMessageLogLength).
"""

from __future__ import annotations

import os
from collections.abc import Callable

DEFAULT_PATH = "/dev/termination-log"
MAX_BYTES = 4096  # the kubelet's limit for the file
FALLBACK_LOG_LINES = 80  # FallbackToLogsOnError: the kubelet's number of log lines
FALLBACK_LOG_BYTES = 2048  # ... and at most this many bytes of them
FALLBACK = "FallbackToLogsOnError"


def read_termination_message(
    message_file: str, policy: str, exit_code: int, log_tail: Callable[[int], bytes]
) -> str:
    """The message from ``message_file`` (the host file bound at terminationMessagePath),
    or ``log_tail(80)`` (the container's last 80 log lines) as described above; '' when
    there is none."""
    try:
        with open(message_file, "rb") as fh:
            text = fh.read(MAX_BYTES)
    except OSError:
        text = b""
    if not text and exit_code != 0 and policy == FALLBACK:
        text = log_tail(FALLBACK_LOG_LINES)[-FALLBACK_LOG_BYTES:]
    return text.decode("utf-8", "replace")


def file_tail(path: str) -> Callable[[int], bytes]:
    """``log_tail`` for a plain log file: its last lines (b'' when unreadable)."""

    def tail(lines: int) -> bytes:
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 64 * 1024))
                return b"".join(fh.read().splitlines(keepends=True)[-lines:])
        except OSError:
            return b""

    return tail
