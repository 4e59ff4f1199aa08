"""Per-container memory cgroups: limits, OOM detection, cleanup.

Why per-container cgroups instead of rlimits: Kubernetes' ``limits.memory``
counts every process of a container together and ends in an OOM kill that the
pod status reports (``OOMKilled``); only a memory cgroup reproduces that. The
cgroup also lists every process of a container, which lets the supervisor end
the stragglers when a container's main process exits.

Layout: ``<our own memory cgroup>/podtask/<owner-pid>-<token>-<container>``.
Nesting under the cgroup podtask itself runs in keeps us inside whatever
limits and delegation the host gave us (and needs no write access to the
cgroup root). ``<owner-pid>`` is the podtask process that owns the pod, so a
later podtask can remove cgroups left behind by a ``kill -9``-ed one
(:meth:`MemoryCgroups.sweep_stale`).

Works with cgroup v1 (``memory.limit_in_bytes``, ``memory.oom_control``) and
v2 (``memory.max``, ``memory.events``). v2 needs the memory controller
delegated to our cgroup's children, which is refused when our own cgroup
holds processes (the "no internal processes" rule); we then report cgroups as
unavailable rather than moving podtask itself around.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass

from podtask.engines.local.linux import read_mountinfo

SUBDIR = "podtask"


def _read(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as fh:
        return fh.read()


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


@dataclass(frozen=True)
class MemoryCgroups:
    """Where podtask's container cgroups live and how to operate them."""

    version: int  # 1 or 2
    parent: str  # absolute directory holding the per-container cgroups

    # -- naming -----------------------------------------------------------------
    def path(self, prefix: str, container: str) -> str:
        return os.path.join(self.parent, f"{prefix}-{container}")

    # -- lifecycle --------------------------------------------------------------
    def create(self, prefix: str, container: str, limit_bytes: int | None) -> str:
        """Make a fresh cgroup (removing a leftover of the same name) and set the limit."""
        path = self.path(prefix, container)
        try:
            os.mkdir(path)
        except FileExistsError:
            self.remove(path)
            os.mkdir(path)
        except FileNotFoundError:  # the parent was removed by a closing sandbox
            os.makedirs(self.parent, exist_ok=True)
            os.mkdir(path)
        if limit_bytes is not None:
            if self.version == 1:
                _write(os.path.join(path, "memory.limit_in_bytes"), str(limit_bytes))
                # No swapping around the limit: the limit must end in an OOM kill.
                with contextlib.suppress(OSError):
                    _write(os.path.join(path, "memory.memsw.limit_in_bytes"), str(limit_bytes))
            else:
                _write(os.path.join(path, "memory.max"), str(limit_bytes))
                with contextlib.suppress(OSError):
                    _write(os.path.join(path, "memory.swap.max"), "0")
        return path

    @staticmethod
    def join(path: str, pid: int = 0) -> None:
        """Move ``pid`` (0: the caller) into the cgroup; pids are read in the writer's pid ns.

        The caller, when it is single-threaded (a freshly forked container
        process), moves through cgroup v1's ``tasks`` file as thread "0": the
        kernel moves just the calling thread, which is the whole process, and
        skips the global lock that a ``cgroup.procs`` write takes, whose write
        side waits for an RCU grace period (measured here: 13.7 ms median
        through ``cgroup.procs``, 0.37 ms through ``tasks``). cgroup v2 has no
        ``tasks`` file: ``cgroup.procs`` as before.
        """
        if pid == 0:
            try:
                # /proc may be another PID namespace's (a probe's helper, after
                # entering a container): then this raises and the usual way is taken.
                if len(os.listdir("/proc/self/task")) == 1:
                    _write(os.path.join(path, "tasks"), "0")
                    return
            except OSError:  # no tasks file (v2), or refused: the usual way says why
                pass
        _write(os.path.join(path, "cgroup.procs"), str(pid or os.getpid()))

    @staticmethod
    def pids(path: str) -> list[int]:
        try:
            text = _read(os.path.join(path, "cgroup.procs"))
        except OSError:
            return []
        return [int(x) for x in text.split() if x.strip() and int(x) > 0]

    def oom_killed(self, path: str) -> bool:
        """True when the kernel OOM-killed a process of this cgroup."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            text = _read(os.path.join(path, name))
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value or 0) > 0
        if self.version == 1:  # kernels < 4.13 have no oom_kill counter
            try:
                return int(_read(os.path.join(path, "memory.failcnt")).strip() or 0) > 0
            except (OSError, ValueError):
                return False
        return False

    @staticmethod
    def remove(path: str, timeout: float = 2.0) -> bool:
        """rmdir the cgroup, waiting a little for dying processes to leave it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(path)
                return True
            except FileNotFoundError:
                return True
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                    return False
            time.sleep(0.005)

    def remove_prefix(self, prefix: str, timeout: float = 2.0) -> list[str]:
        """Remove every cgroup of one pod; returns the ones that could not be removed."""
        left = []
        for entry in self._entries():
            if entry.startswith(prefix + "-"):
                path = os.path.join(self.parent, entry)
                if not self.remove(path, timeout):
                    left.append(path)
        return left

    def remove_parent_if_empty(self) -> None:
        """Best effort: another pod may still use the parent (then rmdir fails, fine)."""
        with contextlib.suppress(OSError):
            os.rmdir(self.parent)

    def sweep_stale(self) -> int:
        """Remove cgroups whose owning podtask process is gone (it was ``kill -9``-ed).

        Isolated pods leave them empty (the PID namespace died with podinit);
        pods run without isolation can leave processes behind, which we SIGKILL
        here, so that at the latest the next podtask run ends them.
        """
        removed = 0
        for entry in self._entries():
            owner, _, _ = entry.partition("-")
            if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                path = os.path.join(self.parent, entry)
                for pid in self.pids(path):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                if self.remove(path, timeout=0.5):
                    removed += 1
        return removed

    def _entries(self) -> list[str]:
        try:
            return [e.name for e in os.scandir(self.parent) if e.is_dir()]
        except OSError:
            return []


def _own_cgroup_dir() -> tuple[int, str]:
    """(version, directory) of the memory cgroup this process lives in."""
    v1_path = v2_path = None
    for line in _read("/proc/self/cgroup").splitlines():
        hid, _, rest = line.partition(":")
        ctrls, _, path = rest.partition(":")
        if "memory" in ctrls.split(","):
            v1_path = path
        elif hid == "0" and ctrls == "":
            v2_path = path
    mounts: dict[str, tuple[str, str]] = {}
    for m in read_mountinfo():
        if m.fstype == "cgroup" and "memory" in m.super_options.split(","):
            mounts.setdefault("v1", (m.root, m.mount_point))
        elif m.fstype == "cgroup2":
            mounts.setdefault("v2", (m.root, m.mount_point))
    if v1_path is not None and "v1" in mounts:
        root, mnt = mounts["v1"]
        rel = os.path.relpath(v1_path, root) if v1_path.startswith(root) else v1_path
        return 1, os.path.normpath(os.path.join(mnt, rel.lstrip("/")))
    if v2_path is not None and "v2" in mounts:
        root, mnt = mounts["v2"]
        rel = os.path.relpath(v2_path, root) if v2_path.startswith(root) else v2_path
        directory = os.path.normpath(os.path.join(mnt, rel.lstrip("/")))
        if "memory" in _read(os.path.join(directory, "cgroup.controllers")).split():
            return 2, directory
        raise OSError("cgroup v2 has no memory controller for our cgroup")
    raise OSError("no memory cgroup controller is mounted")


def find_memory_cgroups() -> MemoryCgroups:
    """Locate (and create) podtask's cgroup parent; OSError with a reason if impossible."""
    version, own = _own_cgroup_dir()
    if not os.path.isdir(own):
        raise OSError(f"our memory cgroup {own} is not visible (cgroup namespace?)")
    parent = os.path.join(own, SUBDIR)
    os.makedirs(parent, exist_ok=True)
    if version == 2:
        for d in (own, parent):
            ctl = _read(os.path.join(d, "cgroup.subtree_control")).split()
            if "memory" not in ctl:
                _write(os.path.join(d, "cgroup.subtree_control"), "+memory")
    return MemoryCgroups(version=version, parent=parent)


def cgroups_available() -> str | None:
    """None when memory limits can be enforced, else the reason they cannot."""
    try:
        find_memory_cgroups()
    except OSError as exc:
        return f"memory cgroups unavailable: {exc.strerror or exc}"
    return None
