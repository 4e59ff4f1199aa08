"""Request latency on a kept-alive connection, as a client (podtask, kubectl) sees it."""

from __future__ import annotations

import http.client
import time

from podtask.testing.apiserver import ApiServer


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
