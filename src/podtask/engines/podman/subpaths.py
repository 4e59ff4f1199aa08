"""subPaths on podman, the kubelet's way: resolve inside the volume, bind, hand over the bind.

podman 4.3 ignores ``subPath``, so each one becomes a hostPath of its own.
Handing podman the path *inside* the volume would be unsafe even when checked
right before ``podman start``: a container sharing the volume can swap a path
component for a symlink between the check and runc's mount, and runc follows
it onto the host (CVE-2017-1002101).  The kubelet closes that gap by binding the
resolved subPath onto a staging path it owns
(``/var/lib/kubelet/pods/<uid>/volume-subpaths/...``) and giving the runtime
that path.  Here the staging path lives under the attempt's work directory,
which no container mounts: ``stage`` creates it before ``kube play`` (podman
wants bind sources to exist), ``bind`` resolves the subPath with
``open_sub_path`` (no symlink leaves the volume) and bind-mounts the resolved
fd onto it right before the container starts.  The engine's teardown, or the
guardian if podtask is killed, unmounts them (``guardian.unmount_below``)
before the work directory is deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat

from podtask.engines._beneath import SubPathError, bind_fd, open_sub_path, unbind
from podtask.engines.podman.manifest import PodmanPod, SubPathMount


def _resolve(m: SubPathMount) -> int:
    """An O_PATH fd of the subPath inside its volume (missing directories are created)."""
    return open_sub_path(
        m.volume_path, m.sub_path, volume=m.volume, mount_path=m.mount_path, container=m.container
    )


def _make_staging(path: str, *, directory: bool) -> None:
    """The staging entry, of the kind the bind needs (a file is bound onto a file)."""
    if os.path.lexists(path) and os.path.isdir(path) != directory:
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if directory:
        os.makedirs(path, mode=0o700, exist_ok=True)
    elif not os.path.lexists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))


def stage(pp: PodmanPod) -> None:
    """Create every staging path (a directory unless the subPath is a file) before ``kube play``."""
    for m in pp.sub_paths:
        directory = True
        with contextlib.suppress(SubPathError):  # refused again, with its message, at start
            fd = _resolve(m)
            try:
                directory = stat.S_ISDIR(os.fstat(fd).st_mode)
            finally:
                os.close(fd)
        _make_staging(m.staging, directory=directory)


def bind(pp: PodmanPod, container: str) -> str | None:
    """Bind each subPath of ``container`` onto its staging path; why it must not start, or None.

    Called right before ``podman start``; resolved again on every start (a
    restarted container sees the volume as it is now), so an older bind is
    dropped first.  The answer is the kubelet's ``CreateContainerConfigError``
    message when a subPath leaves its volume or cannot be bound.
    """
    for m in pp.sub_paths:
        if m.container != container:
            continue
        unbind(m.staging)
        try:
            fd = _resolve(m)
        except SubPathError as exc:
            return str(exc)
        try:
            _make_staging(m.staging, directory=stat.S_ISDIR(os.fstat(fd).st_mode))
            bind_fd(fd, m.staging)
        except OSError as exc:
            return (
                f"subPath {m.sub_path!r} of volumeMount {m.volume!r} (mountPath {m.mount_path})"
                f" of container {container!r} cannot be mounted: {exc.strerror or exc}"
            )
        finally:
            os.close(fd)
    return None
