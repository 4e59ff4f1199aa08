"""Every container's log, streamed into the run directory while the run is followed.

One ``follow=true`` log request per container, opened when the container is
first seen started: the kubelet sends lines as they are written and ends the
stream when the container ends, so ``podtask run`` prints ``[container] line``
live (it tails the run directory) without any polling of the API.  At the end
of the attempt, a container whose stream broke off (a dropped connection, a
client that started late) gets the rest of its log from one plain read, so
what is saved is complete either way.  Logs go to the run directory
(``podtask logs`` reads them there) and, with remote storage, to
``<storage>/<run>/logs/`` as well.

A client killed mid-stream leaves a partial log: a marker beside each log
(``.<container>.log.a<attempt>``) records where the attempt's part starts, so
``podtask attach`` cuts the partial part off and streams it again from the start.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from podtask._errors import InfrastructureError, PodtaskError
from podtask.engines.kubernetes.errors import api_status, with_retries

#: Bytes of a log already streamed past which finish() waits for its stream to end rather
#: than reading the whole log again (a few MiB read at once take about what the wait does).
REREAD_MAX = 4 * 1024 * 1024


def container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    return [str(c.get("name")) for c in [*(spec.get("initContainers") or []), *spec["containers"]]]


def read_log(core: Any, namespace: str, pod: str, container: str) -> bytes | None:
    """The container's whole log; None when it never started (the API answers 400)."""
    try:
        response = with_retries(
            lambda: core.read_namespaced_pod_log(
                pod, namespace, container=container, _preload_content=False
            ),
            verb="get",
            resource="pods/log",
            namespace=namespace,
            name=f"{pod}/{container}",
            attempts=3,
        )
    except PodtaskError as exc:
        cause = exc.__cause__
        if cause is not None and api_status(cause) in (400, 404):
            return None
        raise
    try:
        data: bytes = response.data
        return data
    finally:
        response.release_conn()


class LogStreams:
    """The attempt's log streams, one thread and one follow request per container."""

    def __init__(
        self,
        core: Any,
        namespace: str,
        pod: str,
        *,
        log_path: Callable[[str], Path],
        attempt: int,
    ) -> None:
        self.core, self.namespace, self.pod = core, namespace, pod
        self.log_path, self.attempt = log_path, attempt
        self._threads: dict[str, threading.Thread] = {}
        self._written: dict[str, int] = {}  # bytes of this attempt's log written per container
        self._complete: set[str] = set()  # streams that ended as the container ended
        self._cut: set[str] = set()  # streams finish() took over: they write nothing more
        self._responses: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _marker(self, name: str) -> Path:
        path = self.log_path(name)
        return path.with_name(f".{path.name}.a{self.attempt}")

    def _begin(self, name: str) -> None:
        """Start this attempt's part of the log: after the earlier attempts' parts, and in
        place of a partial part left by a client that was killed while streaming it."""
        path, marker = self.log_path(name), self._marker(name)
        if marker.exists():
            offset = int(marker.read_text() or 0)
            with open(path, "ab") as f:
                f.truncate(offset)
        else:
            offset = path.stat().st_size if path.exists() else 0
            marker.write_text(str(offset))
        if self.attempt > 1:
            with open(path, "ab") as f:
                f.write(f"----- podtask: attempt {self.attempt} -----\n".encode())

    def started(self, name: str) -> bool:
        return name in self._threads

    def start(self, name: str) -> None:
        """Follow ``name``'s log from now on (once per container; it has started)."""
        with self._lock:
            if name in self._threads or self._closed:
                return
            self._begin(name)
            self._written[name] = 0
            thread = threading.Thread(
                target=self._stream, args=(name,), name=f"podtask-log-{name}", daemon=True
            )
            self._threads[name] = thread
        thread.start()

    def _stream(self, name: str) -> None:
        try:
            response = self.core.read_namespaced_pod_log(
                self.pod,
                self.namespace,
                container=name,
                follow=True,
                _preload_content=False,
            )
        except Exception:
            return  # not started after all, or the API is away: finish() reads it whole
        with self._lock:
            if self._closed:
                response.close()
                return
            self._responses[name] = response
        try:
            with open(self.log_path(name), "ab") as f:
                for chunk in response.stream(65536, decode_content=True):
                    with self._lock:
                        if name in self._cut:
                            return  # finish() reads the rest itself
                        f.write(chunk)
                        f.flush()
                        self._written[name] += len(chunk)
            with self._lock:
                if name not in self._cut:
                    self._complete.add(name)
        except Exception:
            pass  # a broken stream: finish() reads the rest
        finally:
            with contextlib.suppress(Exception):
                response.release_conn()
            self._responses.pop(name, None)

    def finish(
        self, names: Iterable[str], *, wait: float = 5.0, reread: bool = False
    ) -> dict[str, str]:
        """Complete every container's log once the pod has ended; returns the problems.

        ``reread``: the pod has finished and still exists, so its logs can be read
        whole.  A followed stream ends only when the kubelet notices its container
        stopped (about a second later on a real cluster), and waiting for that would
        add the second to every run; so a stream that has not ended is closed and the
        rest of its log read with one plain request, all containers at once.  A log
        of more than ``REREAD_MAX`` bytes already streamed is waited for instead, as
        reading it again would take longer.  Without ``reread`` (the pod was deleted:
        a plain read would find nothing) each stream is waited for, up to ``wait``.
        """
        names = list(names)
        problems: dict[str, str] = {}
        threads = [
            threading.Thread(target=self._complete_one, args=(n, wait, reread, problems))
            for n in names
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for name in self._threads:
            path = self.log_path(name)
            if path.exists() and path.stat().st_size:
                with open(path, "rb+") as f:
                    f.seek(-1, 2)
                    if f.read(1) != b"\n":
                        f.write(b"\n")
            self._marker(name).unlink(missing_ok=True)
        return problems

    def _complete_one(self, name: str, wait: float, reread: bool, problems: dict[str, str]) -> None:
        thread = self._threads.get(name)
        if thread is not None and (not reread or self._written.get(name, 0) > REREAD_MAX):
            thread.join(wait)
        with self._lock:
            if name in self._complete:
                return
            self._cut.add(name)  # from here the stream's thread writes nothing
            done = self._written.get(name, 0)
        self._interrupt(name)
        try:
            data = read_log(self.core, self.namespace, self.pod, name)
        except InfrastructureError as exc:
            problems[name] = str(exc)
            return
        if data is None:
            return
        with self._lock:
            if name not in self._threads:
                self._begin(name)
                self._threads[name] = threading.current_thread()
        rest = data[done:]
        with open(self.log_path(name), "ab") as f:
            f.write(rest)

    def _interrupt(self, name: str) -> None:
        """End a stream now.  ``close()`` alone waits for the read in the stream's thread
        to return (it holds the buffered reader's lock), which a kubelet may make last
        a second; shutting the socket down first (urllib3 2.3+) ends that read at once."""
        response = self._responses.get(name)
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()
            with contextlib.suppress(Exception):
                response.close()

    def close(self) -> None:
        """Stop every stream now (the run is abandoned: Ctrl-C, an error)."""
        with self._lock:
            self._closed = True
            names = list(self._responses)
        for name in names:
            self._interrupt(name)


def upload_logs(
    names: Iterable[str], log_path: Callable[[str], Path], remote: Any
) -> dict[str, str]:
    """Copy the saved logs to remote storage (``<storage>/<run>/logs/``)."""
    problems: dict[str, str] = {}
    for name in names:
        path = log_path(name)
        if not path.exists():
            continue
        try:
            remote.put_bytes(f"logs/{name}.log", path.read_bytes())
        except InfrastructureError as exc:
            problems[name] = str(exc)
    return problems
