"""Request latency on a kept-alive connection, as a client (podtask, kubectl) sees it."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any

from podtask.testing.apiserver import ApiServer
from podtask.testing.apiserver.server import FOLLOW_END_DELAY

from .conftest import needs_namespaces, phase, pod, sh, wait


def test_requests_on_one_connection_are_not_held_back(srv: ApiServer) -> None:
    """A real API server answers a GET on a warm connection in about a millisecond here.

    Without TCP_NODELAY on the server's sockets, every answer written in more
    than one send waited for the client's delayed ACK: 40 ms per request, which
    made every client (podtask and kubectl alike) look slow against this server.
    """
    port = srv.port
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=srv.ssl_context, timeout=10)
    try:
        conn.request("GET", "/version")  # the TLS handshake happens here, not timed
        conn.getresponse().read()
        started = time.perf_counter()
        for _ in range(20):
            conn.request("GET", "/version")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    # 20 x 40 ms = 0.8 s when held back; a few ms otherwise, so this holds under load too.
    assert elapsed < 0.4, f"20 GETs took {elapsed:.3f} s on one kept-alive connection"


@needs_namespaces
def test_a_followed_log_ends_about_a_second_after_its_container(
    srv: ApiServer, core: Any, name: str
) -> None:
    """As a v1.36 kubelet does (the real cluster's follow ended 1.0 s after the
    container's last line): a client must not count on the stream ending at once."""
    core.create_namespaced_pod("default", pod(name, sh("main", "echo hi; sleep 0.5; echo bye")))
    wait(srv, name, lambda p: phase(p) == "Running")
    stream = core.read_namespaced_pod_log(name, "default", follow=True, _preload_content=False)
    got: list[tuple[str, float]] = []
    reader = threading.Thread(target=lambda: got.append((stream.read().decode(), time.monotonic())))
    reader.start()
    wait(srv, name, lambda p: phase(p) == "Succeeded")
    finished = time.monotonic()
    reader.join(FOLLOW_END_DELAY + 5)
    core.delete_namespaced_pod(name, "default")
    text, ended = got[0]
    assert text == "hi\nbye\n"
    assert FOLLOW_END_DELAY - 0.2 <= ended - finished <= FOLLOW_END_DELAY + 2
