"""Losing the API server while `podtask run` follows a pod (review s17 #1, mid-run).

The test server's pods run in its own process, so stopping it would stop them
too; a TCP relay in front of it plays the network instead: cutting the relay
makes the cluster unreachable while its pod runs on, as a real one would.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from podtask._storage import RunStore, podtask_home
from tests.kubernetes.conftest import TASKS, needs_server, pods, when_running
from tests.run.remote.proxy_sidecar import pipe  # one socket pump for both relays

pytestmark = [needs_server, pytest.mark.slow]


class Relay:
    """127.0.0.1:port -> the server; ``cut`` drops every connection and stops listening."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            with self._lock:
                if self._listener is not listener:  # cut meanwhile: no connection survives
                    client.close()
                    server.close()
                    return
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            # close() alone does not wake a thread blocked in accept(): shutdown does.
            # A thread left behind would stop later tests' pods from forking warm.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
            self._acceptor.join(timeout=10)
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def test_run_that_loses_the_cluster_leaves_it_for_attach(srv: Any, tmp_path: Path) -> None:
    """The watch fails, then a direct GET: `run` exits 2 and the run stays RUNNING (no
    FAILED, no wait forever); `attach` once the cluster answers gets the result."""
    relay = Relay(int(srv.url.rpartition(":")[2]))
    try:
        kubeconfig = tmp_path / "via-relay"
        relayed = srv.kubeconfig_path.read_text().replace(
            srv.url, f"https://127.0.0.1:{relay.port}"
        )
        assert relayed != srv.kubeconfig_path.read_text()
        kubeconfig.write_text(relayed)
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        podtask = [sys.executable, "-m", "podtask"]
        proc = subprocess.Popen(
            [*podtask, "run", str(TASKS), "greet", "--engine", "kubernetes", "--name", "cut",
             "--seconds", "3"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            running = threading.Event()
            when_running(srv, lambda _pod: running.set()).join()
            assert running.is_set()
            relay.cut()
            cut_at = time.monotonic()
            _out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 2, err
        assert time.monotonic() - cut_at < 90, "waited for an unreachable cluster too long"
        assert "cannot reach the Kubernetes API server" in err
        with RunStore.in_home(podtask_home()) as store:
            (record,) = store.list(1)
        assert record.phase == "RUNNING"
        assert [p["metadata"]["name"] for p in pods(srv)] == [record.run_id]
        relay.open()  # the cluster answers again, at the same address
        again = subprocess.run(
            [*podtask, "attach", record.run_id], env=env, capture_output=True, text=True,
            timeout=90,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert 'o0 = "hello cut"' in again.stdout
        assert pods(srv) == []
    finally:
        relay.cut()
