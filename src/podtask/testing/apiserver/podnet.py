"""The API inside a pod's network namespace, where KUBERNETES_SERVICE_HOST points.

On a cluster a pod reaches the API server at the ``kubernetes`` Service. The
local engine gives each pod its own network namespace, whose 127.0.0.1 is
not the host's; so for each running pod the test kubelet opens a listening
socket *inside* that namespace (a thread enters it with ``setns``, binds,
and returns: a socket stays in the namespace it was made in) on the server's
port, and hands each connection to the same HTTP server. The pod then uses
the API exactly as in a cluster, with the token and CA of its
service-account volume. The socket is closed when the pod ends, so the
namespace it pins goes with the pod.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import threading
from collections.abc import Callable

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def listen_in(pid: int, port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` in the network namespace of ``pid``."""
    result: list[socket.socket | BaseException] = []

    def work() -> None:  # its own thread: setns changes only the calling thread
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(16)
                result.append(sock)
            finally:
                _setns(own)  # never leave a thread of the server in a pod's namespace
        except BaseException as exc:
            result.append(exc)
        finally:
            os.close(own)
            os.close(target)

    t = threading.Thread(target=work, name=f"podnet-{pid}")
    t.start()
    t.join()
    got = result[0]
    if isinstance(got, BaseException):
        raise got
    return got


class Bridge:
    """Accepts connections on a pod's socket and hands them to ``serve``."""

    def __init__(self, sock: socket.socket, serve: Callable[[socket.socket, object], None]) -> None:
        self.sock = sock
        self.serve = serve
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="podnet-bridge", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.closed.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            self.serve(conn, addr)

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
