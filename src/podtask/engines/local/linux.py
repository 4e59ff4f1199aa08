"""Thin ctypes wrappers over the Linux calls the local sandbox needs.

Python 3.10/3.11 have no ``os.unshare``/``os.setns`` and no wrapper at all for
``mount``, ``umount2``, ``pivot_root`` or ``prctl``; going through libc keeps
the pod supervisor free of helper binaries (and therefore fast: one exec of
``unshare(1)`` is the only one per pod). Every wrapper raises ``OSError`` with
the real errno so callers can report what the kernel refused.

The functions that look up libc are safe to call in a forked child of a
threaded process (the symbols are resolved once, at import time).
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import sys
from dataclasses import dataclass

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19

MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPGET = {"x86_64": 125, "aarch64": 90, "arm64": 90, "riscv64": 90, "ppc64le": 183}
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "arm64": 91, "riscv64": 91, "ppc64le": 184}

# pivot_root has no glibc wrapper; the syscall number is per architecture.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203}

_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    # CDLL(None): the symbols already loaded into this process, libc included;
    # no ctypes.util.find_library (which would import subprocess and run ldconfig).
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    _libc.unshare.argtypes = [ctypes.c_int]
    _libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
    _libc.prctl.argtypes = [
        ctypes.c_int,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
    _libc.syscall.restype = ctypes.c_long


def _lib() -> ctypes.CDLL:
    if _libc is None:
        raise OSError(38, "Linux system calls are not available on " + sys.platform)
    return _libc


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def unshare(flags: int) -> None:
    """Move the calling (single-threaded) process into new namespaces."""
    _check(_lib().unshare(flags), f"unshare({flags:#x})")


def setns(fd: int, nstype: int) -> None:
    """Join the namespace referred to by ``fd`` (an open /proc/PID/ns/* file)."""
    _check(_lib().setns(fd, nstype), "setns")


def mount(
    source: str | None,
    target: str,
    fstype: str | None = None,
    flags: int = 0,
    data: str | None = None,
) -> None:
    _check(
        _lib().mount(_b(source), _b(target), _b(fstype), flags, _b(data)),
        f"mount {source!r} on {target!r} ({fstype or 'bind/remount'})",
    )


def umount2(target: str, flags: int = 0) -> None:
    _check(_lib().umount2(_b(target), flags), f"umount {target!r}")


def pivot_root_supported() -> bool:
    return os.uname().machine in _SYS_PIVOT_ROOT


def pivot_root(new_root: str, put_old: str) -> None:
    """``pivot_root(2)``; callers use ``pivot_root(".", ".")`` then detach ``.``."""
    nr = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        raise OSError(38, "pivot_root: unknown syscall number on " + os.uname().machine)
    rc = _lib().syscall(nr, _b(new_root), _b(put_old))
    _check(int(rc), f"pivot_root({new_root!r})")


def set_pdeathsig(sig: int) -> None:
    """Ask the kernel to send ``sig`` when the *thread* that forked us exits."""
    _check(_lib().prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def set_process_name(name: str) -> None:
    """The name ``ps``/``top`` show (``/proc/PID/comm``, at most 15 bytes); best effort."""
    buf = ctypes.create_string_buffer(os.fsencode(name)[:15])
    _lib().prctl(PR_SET_NAME, ctypes.cast(buf, ctypes.c_void_p).value or 0, 0, 0, 0)


def set_no_new_privs() -> None:
    """``allowPrivilegeEscalation: false``: no exec can gain privileges (setuid bits, file caps)."""
    _check(_lib().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_bounding_capabilities(caps: tuple[int, ...]) -> None:
    """Remove ``caps`` from the bounding set: nothing this process execs can gain them.

    Needs CAP_SETPCAP: call it before giving up root; then :func:`drop_capabilities`.
    """
    lib = _lib()
    for cap in caps:
        rc = lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        if rc != 0 and ctypes.get_errno() != 22:  # EINVAL: the kernel does not know it
            _check(rc, f"prctl(PR_CAPBSET_DROP, {cap})")


def drop_capabilities(caps: tuple[int, ...]) -> None:
    """Remove ``caps`` from this process's ambient, effective, permitted and inheritable
    sets (after :func:`drop_bounding_capabilities` and any uid/gid change)."""
    if not caps:
        return
    lib = _lib()
    lib.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL before 4.3: none
    machine = os.uname().machine
    if machine not in _SYS_CAPGET:
        raise OSError(38, "capget/capset: unknown syscall number on " + machine)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(int(lib.syscall(_SYS_CAPGET[machine], ctypes.byref(header), data)), "capget")
    for cap in caps:
        word, bit = divmod(cap, 32)
        mask = ~(1 << bit) & 0xFFFFFFFF
        data[word].effective &= mask
        data[word].permitted &= mask
        data[word].inheritable &= mask
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    _check(int(lib.syscall(_SYS_CAPSET[machine], ctypes.byref(header), data)), "capset")


def set_child_subreaper() -> None:
    """Orphaned descendants get reparented to us (so we can reap them)."""
    _check(_lib().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


@functools.lru_cache(maxsize=1)
def namespaces_available() -> str | None:
    """None when isolated pods can run here, else a reason a user can act on.

    We try the real thing once (an ``unshare`` of pid, net and mount
    namespaces running ``true``) instead of guessing from capabilities: a
    container runtime's seccomp profile or a sysctl can forbid what root
    would normally be allowed. The answer is cached for the process.
    """
    if not sys.platform.startswith("linux"):
        return f"Linux namespaces are not available on {sys.platform}"
    if os.geteuid() != 0:
        return "isolated local pods need root (mount, pid and network namespaces)"
    import subprocess  # lazily: the pod supervisor imports this module and never needs it

    tool = shutil.which("unshare")
    if tool is None:
        return "the unshare(1) tool (util-linux) is not installed"
    try:
        with open("/proc/filesystems", encoding="ascii") as fh:
            if "overlay" not in fh.read():
                return "the kernel has no overlay filesystem (modprobe overlay)"
        res = subprocess.run(
            [tool, "--pid", "--net", "--mount", "--fork", "--kill-child", "--mount-proc", "true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot create namespaces: {exc}"
    if res.returncode != 0:
        msg = res.stderr.decode(errors="replace").strip()
        return f"cannot create namespaces: {msg or f'unshare exited {res.returncode}'}"
    return None


@dataclass(frozen=True)
class MountInfo:
    """One line of /proc/self/mountinfo (the fields we use)."""

    mount_id: int
    parent_id: int
    root: str  # path inside the mounted filesystem that is mounted here
    mount_point: str
    fstype: str
    source: str
    super_options: str


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo (octal).
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def read_mountinfo(path: str = "/proc/self/mountinfo") -> list[MountInfo]:
    """The mount table of the caller's mount namespace, in kernel order (parents first)."""
    result = []
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            pre, sep, post = line.rstrip("\n").partition(" - ")
            fields, pfields = pre.split(), post.split()
            if not sep or len(fields) < 5 or len(pfields) < 3:
                continue
            result.append(
                MountInfo(
                    mount_id=int(fields[0]),
                    parent_id=int(fields[1]),
                    root=_unescape(fields[3]),
                    mount_point=_unescape(fields[4]),
                    fstype=pfields[0],
                    source=_unescape(pfields[1]),
                    super_options=pfields[2],
                )
            )
    return result


def resolve_in_root(root: str, path: str, *, max_links: int = 40) -> str:
    """Host path of ``path`` as seen from a process whose root is ``root``.

    Symlinks met on the way are followed *relative to root* (an absolute link
    such as ``/var/run -> /run`` stays inside the container's root), which a
    plain ``os.path.join(root, path)`` would get wrong when we mount onto it.
    Missing trailing components are kept as they are (the caller creates them).
    """
    parts = [p for p in path.split("/") if p and p != "."]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        if os.path.islink(candidate):
            links += 1
            if links > max_links:
                raise OSError(40, f"too many symlinks resolving {path!r}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)
