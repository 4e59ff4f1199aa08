"""Run ids and the DNS-1123 label rule they share with container names.

A run id doubles as the Kubernetes pod name and as a directory name, so it
must be a DNS-1123 label (at most 63 characters of lowercase alphanumerics
and '-', starting and ending alphanumeric). It also has to read well in
``podtask runs`` and sort by creation time, hence
``<task>-<YYYYMMDD>-<HHMMSS>-<microseconds>-<random>`` in UTC, e.g.
``my-sidecar-task-20261127-104512-048213-3fa9c1``.
"""

from __future__ import annotations

import os
import re
import threading
import time

MAX_LABEL = 63
_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# "-YYYYMMDD-HHMMSS-ffffff-xxxxxx": everything after the task name.
_SUFFIX_LEN = 1 + 8 + 1 + 6 + 1 + 6 + 1 + 6
MAX_TASK_PART = MAX_LABEL - _SUFFIX_LEN

_clock_lock = threading.Lock()
_last_us = 0


def is_dns1123_label(name: str) -> bool:
    """True when ``name`` is a valid DNS-1123 label (safe as a pod, container or file name)."""
    return len(name) <= MAX_LABEL and _LABEL_RE.fullmatch(name) is not None


def sanitize_task_name(task_name: str) -> str:
    """Turn a task name into the readable front of a run id.

    Dotted names (``pkg.module.my_task``) keep only the last part because the
    function name is what a user recognises, and the prefix would otherwise
    eat the length budget.
    """
    short = task_name.rsplit(".", 1)[-1]
    cleaned = _NOT_ALNUM.sub("-", short.lower()).strip("-")
    cleaned = cleaned[:MAX_TASK_PART].rstrip("-")
    return cleaned or "task"


def _monotonic_micros() -> int:
    """Wall-clock microseconds, strictly increasing within this process.

    Ids made in a tight loop would otherwise share a timestamp and sort by
    their random part; bumping by one microsecond keeps creation order.
    """
    global _last_us
    with _clock_lock:
        now = time.time_ns() // 1000
        _last_us = max(now, _last_us + 1)
        return _last_us


def new_run_id(task_name: str) -> str:
    """Return a fresh run id for ``task_name``.

    Ids of one task sort by creation time as plain strings (UTC, fixed-width
    fields); the random tail keeps ids from concurrent processes unique.
    """
    micros = _monotonic_micros()
    seconds, frac = divmod(micros, 1_000_000)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(seconds))
    return f"{sanitize_task_name(task_name)}-{stamp}-{frac:06d}-{os.urandom(3).hex()}"
