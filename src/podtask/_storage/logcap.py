"""Per-container log size caps (``--max-log-size``): keep the newest bytes of a growing log.

A task that floods its output must not fill ``PODTASK_HOME``.  The writer (a
container process, podman's log copier, the Kubernetes log stream) appends to
``logs/<container>.log`` with ``O_APPEND`` and never learns about the cap, so
the cut happens from outside, on the file: the oldest whole blocks are removed
with ``fallocate(FALLOC_FL_COLLAPSE_RANGE)``, which the file system applies
atomically with respect to appends (ext4, xfs).  Where that is not supported
(tmpfs, older kernels) the newest bytes are copied to the start of the file
and it is truncated, which can lose bytes appended during those two calls; a
cap is a promise about disk use, not about every byte.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from podtask._errors import SpecError

_FALLOC_FL_COLLAPSE_RANGE = 0x08
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
#: The smallest cap accepted: below this a log would say nothing useful.
MIN_LOG_CAP = 4096


def parse_size(text: str, *, field: str = "--max-log-size") -> int:
    """``"10M"``, ``"512KiB"``, ``"2g"``, ``"65536"`` -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+)\s*([kmgKMG]?)(?:i?[bB])?\s*", text)
    if not m:
        raise SpecError(
            f"{text!r} is not a size", field=field, hint="give bytes or a size such as 512K or 10M"
        )
    value = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if value < MIN_LOG_CAP:
        raise SpecError(f"{text!r} is below {MIN_LOG_CAP} bytes", field=field)
    return value


def _collapse(fd: int, length: int) -> bool:
    """Remove the first ``length`` bytes in place; False when the file system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fallocate = libc.fallocate
    except (OSError, AttributeError):
        return False
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    if fallocate(fd, _FALLOC_FL_COLLAPSE_RANGE, 0, length) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err))


def cut_log_head(path: Path, keep: int) -> int:
    """Drop the oldest bytes of ``path`` so that at most ``keep`` remain; returns bytes dropped.

    Nothing happens until the file is over ``keep`` by a block, so a log near
    its cap is not rewritten on every check.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return 0
    try:
        st = os.fstat(fd)
        block = max(4096, st.st_blksize)
        excess = st.st_size - keep
        if excess < block:
            return 0
        # Whole blocks, rounded up, so what stays is at most `keep` bytes.
        length = -(-excess // block) * block
        if length < st.st_size and _collapse(fd, length):
            return length
        size = os.fstat(fd).st_size
        tail = os.pread(fd, keep, size - keep)
        os.pwrite(fd, tail, 0)
        os.ftruncate(fd, len(tail))
        return size - len(tail)
    finally:
        os.close(fd)


__all__ = ["MIN_LOG_CAP", "cut_log_head", "parse_size"]
