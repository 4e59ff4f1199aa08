"""Host side of the proxy: ``tcp-<port>.sock`` Unix sockets relayed to ``127.0.0.1:<port>``."""

from __future__ import annotations

import contextlib
import os
import socket
import threading

from tests.run.remote.proxy_sidecar import pipe


class UnixToTcpRelay:
    def __init__(self, sock_dir: str, ports: list[int]) -> None:
        self.listeners: list[socket.socket] = []
        self.acceptors: list[threading.Thread] = []
        for port in ports:
            path = os.path.join(sock_dir, f"tcp-{port}.sock")
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(path)
            os.chmod(path, 0o666)
            listener.listen(16)
            self.listeners.append(listener)
            acceptor = threading.Thread(target=self._accept, args=(listener, port), daemon=True)
            acceptor.start()
            self.acceptors.append(acceptor)

    def _accept(self, listener: socket.socket, port: int) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        """Stop accepting; shutdown wakes a thread blocked in accept(), close alone does not."""
        for listener in self.listeners:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for acceptor in self.acceptors:
            acceptor.join(timeout=10)
