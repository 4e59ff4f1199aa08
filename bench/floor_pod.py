"""The floor: the handoff pod done by hand in one Python process, nothing else.

For each of two containers: fork, a private mount namespace (unshare through
ctypes), an overlay of the host's ``/`` with a private upper dir, the shared
emptyDir bound at /data, /proc /dev /sys bound in, chroot. The sidecar execs
``sh`` to write the file; the primary is the forked interpreter, which waits for
the file and reports its content through a pipe. It is what a local pod cannot
be faster than on this machine, so bench/bench_floor.py states podtask's figure
as a ratio to it. Needs root on Linux. Exit 0 when the primary read the file.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
import time

CLONE_NEWNS = 0x00020000
HANDOFF_SH = "echo handed-over > /data/msg.tmp && mv /data/msg.tmp /data/msg"
MS_RDONLY, MS_BIND, MS_REC, MS_PRIVATE = 1, 4096, 16384, 1 << 18
_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            src.encode(),
            dst.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {dst}",
    )


def _enter_container(work: str, volume: str) -> None:
    """In the child: a private mount namespace whose root is an overlay of ``/``."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    upper, wdir, root = (os.path.join(work, d) for d in ("upper", "work", "root"))
    _mount("overlay", root, "overlay", 0, f"lowerdir=/,upperdir={upper},workdir={wdir}")
    os.makedirs(root + "/data", exist_ok=True)
    _mount(volume, root + "/data", None, MS_BIND)
    for sub in ("/proc", "/dev", "/sys"):
        _mount(sub, root + sub, None, MS_BIND | MS_REC)
    os.chroot(root)
    os.chdir("/")


def main() -> int:
    base = tempfile.mkdtemp(prefix="floor-")
    try:
        volume = os.path.join(base, "volume")
        os.mkdir(volume)
        works = []
        for name in ("sidecar", "primary"):
            work = os.path.join(base, name)
            for d in ("upper", "work", "root"):
                os.makedirs(os.path.join(work, d))
            works.append(work)
        pid_side = os.fork()
        if pid_side == 0:
            try:
                _enter_container(works[0], volume)
                os.execv("/bin/sh", ["sh", "-c", HANDOFF_SH])
            finally:
                os._exit(127)
        r, w = os.pipe()
        pid_primary = os.fork()
        if pid_primary == 0:
            code = 1
            try:
                os.close(r)
                _enter_container(works[1], volume)
                while not os.path.exists("/data/msg"):
                    time.sleep(0.002)
                with open("/data/msg") as fh:
                    os.write(w, fh.read().encode())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        _, st_primary = os.waitpid(pid_primary, 0)
        out = os.read(r, 4096).decode().strip()
        _, st_side = os.waitpid(pid_side, 0)
        ok = os.waitstatus_to_exitcode(st_primary) == 0 and out == "handed-over"
        return 0 if ok and os.waitstatus_to_exitcode(st_side) == 0 else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
