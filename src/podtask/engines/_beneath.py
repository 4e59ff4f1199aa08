"""Open a path inside a directory tree without ever leaving it (the kubelet's subPath rule).

A subPath must stay inside its volume (CVE-2017-1002101): a container can
plant a symlink in a shared volume and wait for another container's subPath
mount to follow it onto the host. Both the local and the podman engine
resolve subPaths here, so the rule is written once. Linux only.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import sys

# openat2 (Linux 5.6) came after the syscall tables were unified: 437 everywhere.
_SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_BENEATH = 0x08
O_PATH = getattr(os, "O_PATH", 0o10000000)

MS_BIND = 4096
MNT_DETACH = 2

_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    _libc = ctypes.CDLL(None, use_errno=True)  # symbols already loaded, libc included
    _libc.syscall.restype = ctypes.c_long
    _libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_void_p,
    ]


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class EscapeError(OSError):
    """A path inside a directory tree resolved (or would resolve) to outside it."""


def _openat2_beneath(root_fd: int, rel: str) -> int | None:
    """``openat2(root_fd, rel, O_PATH, RESOLVE_BENEATH)``; None where the kernel lacks it."""
    how = _OpenHow(O_PATH | os.O_CLOEXEC, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
    if _libc is None:
        return None
    fd = int(
        _libc.syscall(
            _SYS_OPENAT2,
            ctypes.c_int(root_fd),
            os.fsencode(rel),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
    )
    if fd >= 0:
        return fd
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EPERM):  # no openat2, or a seccomp filter refusing it
        return None
    if err == errno.EXDEV:
        raise EscapeError(err, f"{rel!r} leads out of the directory (a symlink or ..)")
    raise OSError(err, os.strerror(err), rel)


def open_beneath(root: str, rel: str, *, create: bool = False, use_openat2: bool = True) -> int:
    """An ``O_PATH`` fd of ``root/rel`` that is guaranteed to lie inside ``root``.

    This is how the kubelet keeps a subPath inside its volume (CVE-2017-1002101):
    symlinks inside the tree are followed only while they stay inside it; an
    absolute symlink, or a ``..`` (literal or from a link) above ``root``, raises
    :class:`EscapeError`. The walk is done on file descriptors, never on path
    strings, so a container swapping a directory for a symlink between the check
    and the use cannot redirect it; bind ``/proc/self/fd/N`` of the result.
    ``openat2(RESOLVE_BENEATH)`` does it in the kernel where available; otherwise
    (and for ``create``, which makes missing directories as the kubelet does for a
    subPath) each component is opened with ``O_NOFOLLOW`` and links are read
    and resolved here.
    """
    root_fd = os.open(root, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if use_openat2:
            try:
                fd = _openat2_beneath(root_fd, rel)
            except FileNotFoundError:
                if not create:
                    raise
                fd = None
            if fd is not None:
                return fd
        return _walk_beneath(root_fd, rel, create)
    finally:
        os.close(root_fd)


def _walk_beneath(root_fd: int, rel: str, create: bool, max_links: int = 40) -> int:
    stack = [os.dup(root_fd)]  # fds of the directories walked through; [0] is the root
    todo = [p for p in rel.split("/") if p and p != "."]
    links = 0
    try:
        while todo:
            part = todo.pop(0)
            if part == "..":
                if len(stack) == 1:
                    raise EscapeError(errno.EXDEV, f"{rel!r} leads out of the directory (..)")
                os.close(stack.pop())
                continue
            flags = O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                fd = os.open(part, flags, dir_fd=stack[-1])
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=stack[-1])
                fd = os.open(part, flags, dir_fd=stack[-1])
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                os.close(fd)
                links += 1
                if links > max_links:
                    raise OSError(errno.ELOOP, f"too many symlinks in {rel!r}")
                target = os.readlink(part, dir_fd=stack[-1])
                if target.startswith("/"):
                    raise EscapeError(
                        errno.EXDEV, f"{rel!r} leads out of the directory (symlink to {target})"
                    )
                todo = [p for p in target.split("/") if p and p != "."] + todo
                continue
            stack.append(fd)
        return stack.pop() if len(stack) > 1 else os.dup(stack[0])
    finally:
        for fd in stack:
            os.close(fd)


class SubPathError(Exception):
    """A subPath that cannot be mounted; the message names the mount (for the container)."""


def open_sub_path(
    volume_path: str, sub_path: str, *, volume: str, mount_path: str, container: str
) -> int:
    """An ``O_PATH`` fd of a volumeMount's subPath inside its volume, created when missing.

    Missing directories are created, as the kubelet does; a subPath that
    leads out of the volume (an absolute symlink, ``..`` above it) raises
    :class:`SubPathError`, which engines report as the kubelet's
    ``CreateContainerConfigError``.
    """
    what = (
        f"subPath {sub_path!r} of volumeMount {volume!r} (mountPath {mount_path})"
        f" of container {container!r}"
    )
    if sub_path.startswith("/"):
        raise SubPathError(f"{what} must be a relative path")
    try:
        return open_beneath(volume_path, sub_path, create=True)
    except EscapeError as exc:
        raise SubPathError(
            f"{what} leads out of the volume through a symlink or '..'; Kubernetes refuses"
            " that too (CVE-2017-1002101)"
        ) from exc
    except OSError as exc:
        raise SubPathError(f"{what}: {exc.strerror or exc}") from exc


def bind_fd(fd: int, target: str) -> None:
    """Bind-mount the file or directory ``fd`` refers to (an ``open_beneath`` fd) onto ``target``.

    The kubelet's cure for the race between checking a subPath and the
    runtime mounting it: the runtime is handed ``target``, a path that only
    podtask controls, already bound to the inode that was checked, so a
    container swapping a path component afterwards changes nothing.
    ``target`` must exist and be of the same kind (directory or file).
    """
    if _libc is None:
        raise OSError(errno.ENOSYS, "bind mounts need Linux", target)
    source = f"/proc/self/fd/{fd}".encode()
    if _libc.mount(source, os.fsencode(target), None, MS_BIND, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), target)


def unbind(target: str) -> None:
    """Undo every ``bind_fd`` on ``target`` (binds stack); nothing mounted there is fine."""
    if _libc is None:
        return
    for _ in range(8):
        if _libc.umount2(os.fsencode(target), MNT_DETACH) != 0:
            return  # EINVAL: not (any longer) a mount point
