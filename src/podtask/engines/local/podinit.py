"""The pod supervisor: PID 1 of a local pod.

It runs either as ``python -m podtask.engines.local.podinit`` or, started
warm, as :func:`main` called in a fork of podtask itself (see
``sandbox._warm_child``, which arranges the same fds 0/1/2 first); the
protocol below is the same for both.

Why a supervisor process at all: the pod's namespaces (pid, net, ipc, uts and
a mount namespace holding the Memory emptyDirs) need an owner that lives as
long as the pod, and as PID 1 of the pod's PID namespace its death takes every
container down with it, which is what makes ``kill -9`` of podtask leave
nothing behind. It also is a warm interpreter that containers with
``fork_entrypoint`` are forked from, which is what makes local pods fast.

It stays single-threaded (one ``selectors`` loop) so that ``fork`` is safe.

Protocol (JSON, one object per line):

* stdin, first line: ``{"plan": PodPlan.to_json(), "isolate": bool,
  "cgroup": {"version": 1|2, "parent": str} | null, "prefix": str}``
* stdin, then commands, ``op`` one of
  ``start {name}``, ``signal {name, sig}``,
  ``probe {id, name, probe, timeout}``, ``exec {id, name, argv, timeout}``,
  ``shutdown``. EOF on stdin means shutdown.
* stdout, events, ``event`` one of
  ``ready {time}`` / ``fatal {message}`` (answer to the first line);
  ``started {name, pid, command, pid1, time}`` (command: the main process's
  name; pid1: it is PID 1 of its own PID namespace);
  ``exited {name, exit_code, signal, oom, message, time}`` (message: the
  termination message, see :func:`termination_message`);
  ``error {name, message, reason, exit_code, time}`` (the container never ran;
  reason ``StartError``, or ``CreateContainerConfigError`` for a subPath that
  would leave its volume;
  for one ``start`` the stream holds either ``started`` then ``exited``, or
  ``error``); ``result {id, ok, message}`` for probes,
  ``result {id, exit_code, output}`` for exec, or ``result {id, error}``;
  ``bye`` as the last line of a shutdown. ``time`` is ``time.time()`` here.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import stat
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from podtask.engines._beneath import SubPathError, open_sub_path
from podtask.engines._termination import file_tail, read_termination_message
from podtask.engines.local import linux, probes
from podtask.engines.local.cgroups import MemoryCgroups
from podtask.engines.local.plan import ContainerPlan, PodPlan

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_CHILD_DEFAULT_SIGNALS = ("SIGCHLD", "SIGTERM", "SIGINT", "SIGHUP", "SIGPIPE", "SIGXFSZ")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _reset_child_signals() -> None:
    """Children must not inherit the supervisor's handlers or Python's SIG_IGN of SIGPIPE."""
    signal.set_wakeup_fd(-1)
    for name in _CHILD_DEFAULT_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)


def _which(cmd: str, path: str) -> str | None:
    if "/" in cmd:
        return cmd
    return shutil.which(cmd, path=path)


# --------------------------------------------------------------------------- setup


def loopback_up() -> None:
    """``ip link set lo up`` without the ip binary: SIOCGIFFLAGS/SIOCSIFFLAGS on a socket."""
    import fcntl
    import struct

    siocgifflags, siocsifflags, iff_up, iff_running = 0x8913, 0x8914, 0x1, 0x40
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), siocgifflags, req))[1]
        fcntl.ioctl(
            s.fileno(), siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up | iff_running)
        )


def prepare_volumes(plan: PodPlan, isolate: bool) -> None:
    """emptyDirs: directories, and tmpfs for medium Memory (only in our mount namespace)."""
    for vol in plan.volumes:
        if vol.kind != "emptyDir":
            continue
        os.makedirs(vol.host_path, exist_ok=True)
        os.chmod(vol.host_path, 0o777)  # Kubernetes emptyDirs are world-writable
        if vol.medium == "Memory" and isolate:
            opts = "mode=0777" + (f",size={vol.size_limit_bytes}" if vol.size_limit_bytes else "")
            linux.mount("tmpfs", vol.host_path, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, opts)
        if plan.fs_group is not None:  # fsGroup: the group owns it, and new files inherit it
            os.chown(vol.host_path, -1, plan.fs_group)
            os.chmod(vol.host_path, 0o2777)


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _make_target(target: str, source_is_dir: bool) -> None:
    if source_is_dir:
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "a"):
            pass


class ContainerConfigError(Exception):
    """The container cannot be created as specified (the kubelet's CreateContainerConfigError)."""

    reason = "CreateContainerConfigError"


def make_root_read_only(c: ContainerPlan) -> None:
    """readOnlyRootFilesystem: after pivot_root, every mount but the volumes, /proc, /dev
    and /sys becomes read-only (the overlay root and the host mounts mirrored into it)."""
    keep = ("/proc", "/dev", "/sys", *(m.mount_path.rstrip("/") or "/" for m in c.mounts))
    for m in reversed(linux.read_mountinfo()):
        if m.mount_point != "/" and any(_under(m.mount_point, k) for k in keep):
            continue
        with contextlib.suppress(OSError):  # a mount we cannot remount keeps its mode
            linux.mount(
                None, m.mount_point, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY
            )
    linux.mount(None, "/", None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY)


def become_user(plan: PodPlan, c: ContainerPlan) -> None:
    """securityContext, in a runtime's order: the non-root check, capabilities (while
    still root), groups, gid, uid, then no_new_privs. Raises ContainerConfigError for
    runAsNonRoot with a user 0, with the kubelet's words."""
    uid = c.run_as_user if c.run_as_user is not None else os.getuid()
    pod = f'"{plan.pod_name}_{plan.namespace}"'
    if c.run_as_non_root and uid == 0:
        if c.run_as_user is not None:
            raise ContainerConfigError(
                f"container's runAsUser breaks non-root policy (pod: {pod}, container: {c.name})"
            )
        raise ContainerConfigError(
            f"container has runAsNonRoot and image will run as root (pod: {pod},"
            f" container: {c.name})"
        )
    linux.drop_bounding_capabilities(c.drop_caps)  # needs CAP_SETPCAP: while still root
    if c.supplemental_groups is not None or c.run_as_user is not None:
        os.setgroups(list(c.supplemental_groups or ()))
    gid = c.run_as_group
    if gid is None and c.run_as_user is not None:
        import pwd

        try:
            gid = pwd.getpwuid(c.run_as_user).pw_gid
        except KeyError:  # a uid without a passwd entry gets group 0, as with a runtime
            gid = 0
    if gid is not None:
        os.setresgid(gid, gid, gid)
    if c.run_as_user is not None:
        os.setresuid(uid, uid, uid)  # to non-root: the kernel clears the capability sets
    linux.drop_capabilities(c.drop_caps)
    if c.no_new_privs:
        linux.set_no_new_privs()


def _mount_overlay(target: str, opts: str) -> None:
    """An overlay whose upper dir is thrown away with the pod: ``volatile`` where the kernel has it.

    A plain overlay syncs its upper filesystem when its last mount goes, which
    is when the container's last process exits: the exit then waits for the
    host disk's writeback (5 ms on a quiet disk, far more under I/O), and so
    does the primary's exit event. ``volatile`` (Linux 5.10) skips that sync
    and makes fsync inside the overlay a no-op, which loses nothing here: the
    upper dir is deleted when the pod ends, and volumes are bind mounts, not
    part of the overlay. Older kernels refuse the option; then plain.
    """
    try:
        linux.mount("overlay", target, "overlay", 0, opts + ",volatile")
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        linux.mount("overlay", target, "overlay", 0, opts)


def build_root(plan: PodPlan, c: ContainerPlan, seq: int) -> None:
    """In a forked child: private mount ns, overlay of / , host mounts, volumes, pivot_root.

    The overlay (lowerdir=/, upper under work_dir) lets the container see the
    host's files and create mount points such as /data without writing to the
    host's /. Overlay only shows the root filesystem, so every other mount
    (/proc of the pod, /dev, /sys, separate /tmp or /work, ...) is bound in
    again, one by one and non-recursively, skipping what lives under work_dir
    (our own overlays and tmpfs volumes) and what hides under the pod's /proc.
    """
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    base = os.path.join(plan.work_dir, "containers", f"{c.name}.{seq}")
    upper, work, root = (os.path.join(base, d) for d in ("upper", "work", "root"))
    for d in (upper, work, root):
        os.makedirs(d, exist_ok=True)
    mounts = linux.read_mountinfo()
    if any(ch in base for ch in ",:\\"):
        raise OSError(errno.EINVAL, f"work_dir must not contain ',', ':' or '\\': {base}")
    _mount_overlay(root, f"lowerdir=/,upperdir={upper},workdir={work}")
    seen = {"/"}
    # Binding by path picks the topmost mount: for /proc that is the pod's proc
    # (unshare --mount-proc), and its recursive bind makes us skip the host
    # proc's submounts that it hides.
    recursive: list[str] = []
    for m in mounts:
        mp = m.mount_point
        if mp in seen or _under(mp, plan.work_dir) or any(_under(mp, r) for r in recursive):
            continue
        seen.add(mp)
        # One recursive bind covers a whole subtree (/dev, /sys, ...), unless our
        # own work_dir lies inside it: then bind it alone and visit its children.
        # /dev gets an overlay of its own, like /: the container sees the host's
        # devices, but a file it creates there (/dev/termination-log) stays its own;
        # /dev's submounts (pts, shm, mqueue) are then bound one by one.
        rec = not _under(plan.work_dir, mp) and mp != "/dev"
        try:
            target = linux.resolve_in_root(root, mp)
            _make_target(target, os.path.isdir(mp))
            if mp == "/dev":
                dev_upper, dev_work = (os.path.join(base, d) for d in ("dev-upper", "dev-work"))
                os.makedirs(dev_upper, exist_ok=True)
                os.makedirs(dev_work, exist_ok=True)
                opts = f"lowerdir=/dev,upperdir={dev_upper},workdir={dev_work}"
                _mount_overlay(target, opts)
            else:
                linux.mount(mp, target, None, linux.MS_BIND | (linux.MS_REC if rec else 0))
        except OSError as exc:  # best effort: a host mount we cannot mirror is not fatal
            print(f"podinit: {c.name}: not binding {mp}: {exc}", file=sys.stderr)
            continue
        if rec:
            recursive.append(mp)
    if not plan.share_process_namespace:  # its own PID namespace: its own /proc
        linux.mount(
            "proc",
            linux.resolve_in_root(root, "/proc"),
            "proc",
            linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC,
        )
    vols = {v.name: v for v in plan.volumes}
    for mnt in sorted(c.mounts, key=lambda m: m.mount_path.rstrip("/").count("/")):
        vol = vols[mnt.volume]
        sub_fd = None
        if mnt.sub_path:
            try:
                sub_fd = open_sub_path(
                    vol.host_path,
                    mnt.sub_path,
                    volume=mnt.volume,
                    mount_path=mnt.mount_path,
                    container=c.name,
                )
            except SubPathError as exc:
                raise ContainerConfigError(str(exc)) from exc
        try:
            # The subPath is bound through its fd: what was checked is what is mounted.
            src = vol.host_path if sub_fd is None else f"/proc/self/fd/{sub_fd}"
            target = linux.resolve_in_root(root, mnt.mount_path)
            _make_target(target, os.path.isdir(src))
            linux.mount(src, target, None, linux.MS_BIND | linux.MS_REC)
        finally:
            if sub_fd is not None:
                os.close(sub_fd)
        if mnt.read_only:
            flags = linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY
            linux.mount(None, target, None, flags)
    if c.termination_message_path:
        # As the kubelet does: a file of our own at the path, so that what the
        # container writes there can be read after it is gone (and never lands
        # in the host's /dev).
        log = termination_log(plan, c, seq)
        with open(log, "a"):
            pass
        os.chmod(log, 0o666)
        target = linux.resolve_in_root(root, c.termination_message_path)
        _make_target(target, False)
        linux.mount(log, target, None, linux.MS_BIND)
    if c.run_as_user:
        _hand_over_user_dirs(c)
    os.chdir(root)
    linux.pivot_root(".", ".")
    linux.umount2(".", linux.MNT_DETACH)
    os.chdir("/")
    if c.run_as_user:
        _make_reachable(c)


def termination_log(plan: PodPlan, c: ContainerPlan, seq: int) -> str:
    """Host path of the file bound at the container's terminationMessagePath."""
    return os.path.join(plan.work_dir, "containers", f"{c.name}.{seq}", "termination-log")


def termination_message(plan: PodPlan, c: ContainerPlan, seq: int, exit_code: int) -> str:
    """What the kubelet puts in ``state.terminated.message`` (see engines/_termination)."""
    if not c.termination_message_path:
        return ""
    log = termination_log(plan, c, seq)
    policy = c.termination_message_policy
    return read_termination_message(log, policy, exit_code, file_tail(c.log_path))


def _hand_over_user_dirs(c: ContainerPlan) -> None:
    """A non-root primary writes its outputs: the outputs dir becomes its own, and the
    run dir above it (0700, root's) searchable, not listable, by others."""
    for d in c.user_dirs:
        os.makedirs(d, exist_ok=True)
        os.chown(d, c.run_as_user or 0, c.run_as_group if c.run_as_group is not None else -1)
        parent = os.path.dirname(d)
        os.chmod(parent, os.stat(parent).st_mode | 0o001)


def _make_reachable(c: ContainerPlan) -> None:
    """A non-root user must reach its mount points, working dir and (a forked primary)
    this interpreter even where they sit under a 0700 directory such as /root: add
    search permission for others, in the container's overlay only (a copy-up; the
    host's directories, and mounts other than the overlay root, are left alone)."""
    paths = [m.mount_path for m in c.mounts] + [c.working_dir or "/"]
    if c.fork_entrypoint:
        paths += [sys.prefix, sys.base_prefix, sys.exec_prefix]
        paths += [p for p in sys.path if p and os.path.isabs(p)]
    root_dev = os.stat("/").st_dev
    done: set[str] = set()
    for path in paths:
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts)):
            anc = "/" + "/".join(parts[:i])
            if anc in done:
                continue
            done.add(anc)
            try:
                st = os.lstat(anc)
                if st.st_dev == root_dev and stat.S_ISDIR(st.st_mode) and not st.st_mode & 0o001:
                    os.chmod(anc, stat.S_IMODE(st.st_mode) | 0o001)
            except OSError:
                continue


# --------------------------------------------------------------------------- supervisor


@dataclass
class Running:
    name: str
    pid: int
    cgroup: str | None
    status_fd: int | None  # open until the child exec'd (or reported a start error)
    status_buf: bytearray = field(default_factory=bytearray)
    start_error: dict[str, Any] | None = None
    alive: bool = True
    seq: int = 0  # which start of the container this is (names its dir in work_dir)


@dataclass
class Prepared:
    """A container's process, forked and in its cgroup ahead of its start (see ``prepare``)."""

    pid: int
    cgroup: str | None
    go_fd: int  # podinit's end: one byte starts the container, EOF ends the process
    status_fd: int
    seq: int


@dataclass
class Helper:
    req_id: Any
    pid: int
    fd: int
    buf: bytearray = field(default_factory=bytearray)


class Supervisor:
    def __init__(
        self,
        plan: PodPlan,
        isolate: bool,
        cg: MemoryCgroups | None,
        prefix: str,
        ev_fd: int,
    ) -> None:
        self.plan, self.isolate, self.cg, self.prefix, self.ev_fd = plan, isolate, cg, prefix, ev_fd
        self.sel = selectors.DefaultSelector()
        self.running: dict[str, Running] = {}
        self.by_pid: dict[int, Running] = {}
        self.helpers: dict[int, Helper] = {}  # by fd
        self.helper_pids: set[int] = set()
        self.seq = 0
        self.prepared: dict[str, Prepared] = {}
        self.inbuf = bytearray()
        self.stopping = False
        wake_r, self.wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.wake_r = wake_r
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # podtask decides the stop order
        self.sel.register(wake_r, selectors.EVENT_READ, "wake")
        self.sel.register(0, selectors.EVENT_READ, "stdin")

    def _on_term(self, signum: int, frame: object) -> None:
        self.stopping = True  # the wakeup fd makes select return

    # -- output ------------------------------------------------------------------
    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n"
        _write_all(self.ev_fd, line.encode())

    # -- main loop ---------------------------------------------------------------
    def run(self, initial: bytes) -> int:
        self.inbuf += initial
        self._handle_input()
        while not self.stopping:
            for key, _ in self.sel.select():
                if key.data == "wake":
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    self._reap()
                elif key.data == "stdin":
                    chunk = os.read(0, 65536)
                    if not chunk:
                        self.stopping = True
                    self.inbuf += chunk
                    self._handle_input()
                elif key.data == "status":
                    self._read_status(key.fd)
                elif key.data == "helper":
                    self._read_helper(key.fd)
        self.shutdown()
        return 0

    def _handle_input(self) -> None:
        while b"\n" in self.inbuf and not self.stopping:
            line, _, rest = bytes(self.inbuf).partition(b"\n")
            self.inbuf = bytearray(rest)
            if line.strip():
                self._command(json.loads(line))

    def _command(self, cmd: dict[str, Any]) -> None:
        op = cmd.get("op")
        if op == "start":
            self.start(str(cmd["name"]))
        elif op == "signal":
            self.signal(str(cmd["name"]), int(cmd["sig"]))
        elif op == "probe":
            self.probe(cmd["id"], str(cmd["name"]), cmd["probe"], float(cmd["timeout"]))
        elif op == "exec":
            self.exec(cmd["id"], str(cmd["name"]), list(cmd["argv"]), float(cmd["timeout"]))
        elif op == "shutdown":
            self.stopping = True
        else:
            print(f"podinit: unknown command {cmd!r}", file=sys.stderr)

    # -- containers --------------------------------------------------------------
    def start(self, name: str) -> None:
        now = time.time()
        try:
            c = self.plan.container(name)
        except KeyError:
            self.emit(
                "error",
                name=name,
                message="no such container",
                reason="StartError",
                exit_code=128,
                time=now,
            )
            return
        old = self.running.get(name)
        if old is not None and old.alive:
            self.emit(
                "error",
                name=name,
                message="container is already running",
                reason="StartError",
                exit_code=128,
                time=now,
            )
            return
        ready = self.prepared.pop(name, None)
        if ready is not None and self._go(ready):
            run = Running(
                name=name,
                pid=ready.pid,
                cgroup=ready.cgroup,
                status_fd=ready.status_fd,
                seq=ready.seq,
            )
            self.running[name] = run
            self.by_pid[ready.pid] = run
            self.sel.register(ready.status_fd, selectors.EVENT_READ, "status")
            return
        cgroup = None
        if self.cg is not None:
            try:
                cgroup = self.cg.create(self.prefix, name, c.memory_limit_bytes)
            except OSError as exc:
                if c.memory_limit_bytes is not None:
                    self.emit(
                        "error",
                        name=name,
                        message=f"memory cgroup: {exc}",
                        reason="StartError",
                        exit_code=128,
                        time=now,
                    )
                    return
        self.seq += 1
        r, w = os.pipe()
        pid = self._fork_container()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(r)
                self._container_child(c, cgroup, w, self.seq)
            except BaseException as exc:
                try:
                    _report_start_error(w, exc)
                finally:
                    os._exit(127)
        os.close(w)
        os.set_blocking(r, False)  # podinit's loop must never wait on one container
        run = Running(name=name, pid=pid, cgroup=cgroup, status_fd=r, seq=self.seq)
        self.running[name] = run
        self.by_pid[pid] = run
        self.sel.register(r, selectors.EVENT_READ, "status")

    def prepare(self) -> None:
        """Fork each container's process now, into its cgroup, to wait for its start.

        Joining a cgroup v1 memory cgroup waits for an RCU grace period in the
        kernel (8-15 ms measured here), and forking this interpreter costs a
        few more; done at ``start`` both sat between "start the primary" and the
        primary running. Here they overlap with podtask's own bookkeeping
        between "ready" and the first ``start``. A prepared process does
        nothing until ``start`` sends it one byte (then it goes on exactly as
        a freshly forked one would) and exits at EOF. A later start of the
        same container (a restart) forks as before.
        """
        for c in self.plan.containers:
            cgroup = None
            if self.cg is not None:
                try:
                    cgroup = self.cg.create(self.prefix, c.name, c.memory_limit_bytes)
                except OSError:
                    continue  # start() tries again and reports the error
            self.seq += 1
            go_r, go_w = os.pipe()
            status_r, status_w = os.pipe()
            pid = self._fork_container()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 127
                try:
                    os.close(go_w)
                    os.close(status_r)
                    self._enter_container_process(cgroup)
                    if os.read(go_r, 1) == b"g":
                        os.close(go_r)
                        self._container_child(c, cgroup, status_w, self.seq, joined=True)
                    code = 0  # EOF: the pod ended before this container started
                except BaseException as exc:
                    _report_start_error(status_w, exc)
                finally:
                    os._exit(code)
            os.close(go_r)
            os.close(status_w)
            os.set_blocking(status_r, False)
            self.prepared[c.name] = Prepared(pid, cgroup, go_w, status_r, self.seq)

    def _go(self, ready: Prepared) -> bool:
        """Start a prepared process; False (and it is gone) if it died meanwhile."""
        try:
            os.write(ready.go_fd, b"g")
            return True
        except OSError:
            os.close(ready.status_fd)
            return False
        finally:
            os.close(ready.go_fd)

    def _drop_prepared(self, pid: int) -> None:
        """A prepared process ended before its start (reaped): start() forks anew."""
        for name, ready in list(self.prepared.items()):
            if ready.pid == pid:
                del self.prepared[name]
                os.close(ready.go_fd)
                os.close(ready.status_fd)

    def _own_pid_namespaces(self) -> bool:
        return self.isolate and not self.plan.share_process_namespace

    def _fork_container(self) -> int:
        """fork(); without shareProcessNamespace the child is PID 1 of a new PID namespace.

        As on a cluster, the container's main process then gets only the signals
        it has a handler for (a ``sh`` without a trap ignores SIGTERM), and when
        it exits the kernel kills everything else of the container. Only the
        next child moves: podinit's own PID namespace is set back at once.
        """
        if not self._own_pid_namespaces():
            return os.fork()
        own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            linux.unshare(linux.CLONE_NEWPID)
            pid = -1
            try:
                pid = os.fork()
            finally:
                if pid != 0:  # podinit (or a failed fork): later children are ours again
                    linux.setns(own, linux.CLONE_NEWPID)
            return pid
        finally:
            os.close(own)

    def _container_child(
        self, c: ContainerPlan, cgroup: str | None, status_w: int, seq: int, *, joined: bool = False
    ) -> None:
        """Runs in the forked child; never returns (exec or os._exit).

        ``joined``: a prepared process, which joined its cgroup already (the
        join is below: with a prepared process it happens while it waits).
        """
        if not joined:
            self._enter_container_process(cgroup)
        log_fd = os.open(c.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if self.isolate:
            build_root(self.plan, c, seq)
        cwd = c.working_dir or "/"
        if self.isolate:
            os.makedirs(cwd, exist_ok=True)
            if c.read_only_root:
                make_root_read_only(c)
        os.chdir(cwd)
        env = dict(c.env)
        null = os.open(os.devnull, os.O_RDONLY)
        become_user(self.plan, c)
        if c.fork_entrypoint:
            self._run_entrypoint(c, env, null, log_fd)
        exe = _which(c.argv[0], env.get("PATH", DEFAULT_PATH))
        if exe is None:
            err = {
                "message": f'exec: "{c.argv[0]}": executable file not found in $PATH',
                "exit_code": 128,
            }
            _write_all(status_w, json.dumps(err).encode())
            os._exit(127)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.execve(exe, list(c.argv), env)

    def _enter_container_process(self, cgroup: str | None) -> None:
        """In the forked child: its own signals, session and cgroup."""
        _reset_child_signals()
        os.setsid()  # own process group: signals go to the container's group
        if not self.isolate:
            linux.set_pdeathsig(signal.SIGKILL)
        if cgroup is not None:
            MemoryCgroups.join(cgroup)

    def _run_entrypoint(
        self, c: ContainerPlan, env: dict[str, str], null: int, log_fd: int
    ) -> NoReturn:
        """fork_entrypoint: call MODULE.main(args) in this warm, already-forked interpreter."""
        module, args = c.argv[2], list(c.argv[3:])
        os.environ.clear()
        os.environ.update(env)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.closerange(3, 65536)  # also closes the status pipe: the container has started
        import io

        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), line_buffering=True, errors="backslashreplace"
        )
        sys.argv = [module, *args]
        sys.path[0] = os.getcwd()  # like `python -m` started in the working dir
        code = 1
        try:
            rc = importlib.import_module(module).main(args)
            code = _exit_code(rc)
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)

    def _read_status(self, fd: int) -> None:
        run = next((r for r in self.running.values() if r.status_fd == fd), None)
        if run is None:
            # One select round can report a child's exit and its status pipe together;
            # handling the exit first closes the pipe, so this event is stale: ignore it.
            return
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            run.status_buf += chunk
            return
        self._close_status(run)

    def _close_status(self, run: Running) -> None:
        """EOF on the status pipe: exec succeeded (nothing written) or setup failed."""
        fd = run.status_fd
        if fd is None:
            return
        while True:  # the child may be gone already: drain what it wrote
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            run.status_buf += chunk
        self.sel.unregister(fd)
        os.close(fd)
        run.status_fd = None
        if run.status_buf:
            run.start_error = json.loads(bytes(run.status_buf))
            self.emit(
                "error",
                name=run.name,
                message=run.start_error["message"],
                reason=run.start_error.get("reason", "StartError"),
                exit_code=run.start_error.get("exit_code", 128),
                time=time.time(),
            )
        else:
            self.emit(
                "started",
                name=run.name,
                pid=run.pid,
                command=_command_name(run.pid),
                pid1=self._own_pid_namespaces(),
                time=time.time(),
            )

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = self.by_pid.pop(pid, None)
            if run is not None:
                self._container_exited(run, status)
            else:
                self._drop_prepared(pid)

    def _container_exited(self, run: Running, status: int) -> None:
        now = time.time()
        run.alive = False
        self._close_status(run)
        self._kill_rest(run)
        oom = False
        if run.cgroup is not None and self.cg is not None:
            oom = self.cg.oom_killed(run.cgroup)
        try:
            if run.start_error is not None:
                return
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            code = 128 + sig if sig is not None else os.WEXITSTATUS(status)
            message = ""
            if self.isolate:
                c = self.plan.container(run.name)
                message = termination_message(self.plan, c, run.seq, code)
            self.emit(
                "exited",
                name=run.name,
                exit_code=code,
                signal=sig,
                oom=oom,
                message=message,
                time=now,
            )
        finally:
            # After the event: removing a memory cgroup takes a millisecond or more,
            # and podtask acts on the primary's exit (stops the sidecars) meanwhile.
            if run.cgroup is not None and self.cg is not None:
                self.cg.remove(run.cgroup, timeout=1.0)

    def _kill_rest(self, run: Running) -> None:
        """A container ends with its main process: SIGKILL its group and cgroup stragglers."""
        with contextlib.suppress(OSError):
            os.killpg(run.pid, signal.SIGKILL)
        if run.cgroup is not None:
            for pid in MemoryCgroups.pids(run.cgroup):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def signal(self, name: str, sig: int) -> None:
        """Signal the container's main process only, as a container runtime does.

        In its own PID namespace it is PID 1 there, so the kernel drops a
        signal it has no handler for (SIGKILL excepted); its children see
        nothing until it passes the signal on. When it exits, the rest of
        the container is killed (:meth:`_kill_rest`).
        """
        run = self.running.get(name)
        if run is None or not run.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(run.pid, sig)
        if sig == signal.SIGKILL:
            self._kill_rest(run)

    # -- probes and exec ---------------------------------------------------------
    def _spawn_helper(self, req_id: Any, job: Callable[[], dict[str, Any]]) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            result: dict[str, Any]
            try:
                os.close(r)
                _reset_child_signals()
                result = job()
            except BaseException as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
            try:
                _write_all(w, json.dumps(result).encode())
            finally:
                os._exit(0)
        os.close(w)
        self.helpers[r] = Helper(req_id=req_id, pid=pid, fd=r)
        self.helper_pids.add(pid)
        self.sel.register(r, selectors.EVENT_READ, "helper")

    def _read_helper(self, fd: int) -> None:
        h = self.helpers[fd]
        chunk = os.read(fd, 65536)
        if chunk:
            h.buf += chunk
            return
        self.sel.unregister(fd)
        os.close(fd)
        del self.helpers[fd]
        self.helper_pids.discard(h.pid)
        try:
            result = json.loads(bytes(h.buf)) if h.buf else {"error": "helper died"}
        except ValueError:
            result = {"error": "helper wrote garbage"}
        self.emit("result", id=h.req_id, **result)

    def _enter(self, name: str) -> tuple[dict[str, str], str]:
        """In a helper child: join the container's mount namespace, root and cgroup."""
        run = self.running[name]
        c = self.plan.container(name)
        if self.isolate:
            kinds = [("mnt", linux.CLONE_NEWNS)]
            if self._own_pid_namespaces():  # what exec runs is one of the container's
                kinds.append(("pid", linux.CLONE_NEWPID))
            # Open everything first: after the first setns, /proc is the container's.
            fds = [
                (os.open(f"/proc/{run.pid}/ns/{kind}", os.O_RDONLY), flag) for kind, flag in kinds
            ]
            root = os.open(f"/proc/{run.pid}/root", os.O_RDONLY | os.O_DIRECTORY)
            try:
                for fd, flag in fds:
                    linux.setns(fd, flag)
                os.fchdir(root)
                os.chroot(".")
            finally:
                for fd, _ in fds:
                    os.close(fd)
                os.close(root)
        if run.cgroup is not None:
            MemoryCgroups.join(run.cgroup)
        return dict(c.env), c.working_dir or "/"

    def _check_running(self, name: str) -> str | None:
        run = self.running.get(name)
        if run is None or not run.alive or run.start_error is not None:
            return f"container {name!r} is not running"
        return None

    def probe(self, req_id: Any, name: str, probe: dict[str, Any], timeout: float) -> None:
        if "exec" in probe and (err := self._check_running(name)):
            self.emit("result", id=req_id, ok=False, message=err)
            return

        def job() -> dict[str, Any]:
            def exec_fn(argv: Any, t: float) -> tuple[int, str]:
                env, cwd = self._enter(name)
                return probes.run_exec(argv, env, cwd, t)

            ok, msg = probes.run_probe(probe, timeout, exec_fn)
            return {"ok": ok, "message": msg[-10240:]}

        self._spawn_helper(req_id, job)

    def exec(self, req_id: Any, name: str, argv: list[str], timeout: float) -> None:
        if err := self._check_running(name):
            self.emit("result", id=req_id, error=err)
            return

        def job() -> dict[str, Any]:
            env, cwd = self._enter(name)
            code, out = probes.run_exec(argv, env, cwd, timeout)
            return {"exit_code": code, "output": out}

        self._spawn_helper(req_id, job)

    # -- shutdown ----------------------------------------------------------------
    def shutdown(self) -> None:
        """SIGKILL everything of the pod, reap it, remove cgroups, say bye."""
        for ready in list(self.prepared.values()):
            with contextlib.suppress(OSError):
                os.kill(ready.pid, signal.SIGKILL)
            self._drop_prepared(ready.pid)
        for run in list(self.by_pid.values()):
            self._kill_rest(run)
        for pid in self.helper_pids:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if self.isolate:
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)  # as PID 1: every other process of the pod
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.002)
                continue
            dead = self.by_pid.pop(pid, None)
            if dead is not None:
                with contextlib.suppress(OSError):
                    self._container_exited(dead, status)
        if self.cg is not None:
            self.cg.remove_prefix(self.prefix, timeout=1.0)
        with contextlib.suppress(OSError):
            self.emit("bye")


def _report_start_error(status_w: int, exc: BaseException) -> None:
    """In a container's child: why it could not start, on its status pipe."""
    msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, OSError) and exc.filename:
        msg = f"{msg}: {exc.filename}"
    err = {"message": f"{type(exc).__name__}: {msg}", "exit_code": 128}
    if isinstance(exc, ContainerConfigError):
        err.update(message=str(exc), reason=exc.reason)
    _write_all(status_w, json.dumps(err).encode())


def _command_name(pid: int) -> str:
    """What the container's main process runs now (``/proc/PID/comm``), e.g. ``sh``."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _exit_code(value: object) -> int:
    """sys.exit semantics: None -> 0, int -> itself, anything else printed -> 1."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def main() -> int:
    # fd 1 is the event pipe; keep it private so stray prints cannot corrupt the protocol.
    ev_fd = os.dup(1)
    os.dup2(2, 1)
    buf = bytearray()
    while b"\n" not in buf:
        chunk = os.read(0, 65536)
        if not chunk:
            return 1
        buf += chunk
    first, _, rest = bytes(buf).partition(b"\n")
    try:
        cfg = json.loads(first)
        plan = PodPlan.from_json(cfg["plan"])
        isolate = bool(cfg["isolate"])
        cg = MemoryCgroups(**cfg["cgroup"]) if cfg.get("cgroup") else None
        if isolate and not plan.host_network:  # hostNetwork: the host's, left alone
            loopback_up()
            with contextlib.suppress(OSError):
                socket.sethostname(plan.pod_name[:63])
        else:
            linux.set_child_subreaper()
        prepare_volumes(plan, isolate)
        for c in plan.containers:
            if c.fork_entrypoint:  # warm the fork (see sandbox._preload_entrypoints)
                preload = getattr(importlib.import_module(c.argv[2]), "preload", None)
                if callable(preload):
                    preload()
        sup = Supervisor(plan, isolate, cg, str(cfg["prefix"]), ev_fd)
    except Exception as exc:
        traceback.print_exc()
        line = json.dumps({"event": "fatal", "message": f"{type(exc).__name__}: {exc}"})
        _write_all(ev_fd, (line + "\n").encode())
        return 1
    sup.emit("ready", time=time.time())
    try:
        sup.prepare()
        return sup.run(rest)
    except BrokenPipeError:  # podtask is gone: take the pod down
        sup.stopping = True
        sup.shutdown()
        return 1


if __name__ == "__main__":
    sys.exit(main())
