"""One attempt of a Kubernetes probe (exec, tcpSocket, httpGet), as the kubelet makes it.

Shared by the engines that run probes themselves: the local engine's pod
supervisor runs them inside the pod's network namespace, the podman engine
from a thread that entered it; each passes how to exec in the container and
how to reach the pod's network.  Standard library only, so the supervisor
stays light.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

ProbeResult = tuple[bool, str]


def tcp_probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        with socket.create_connection((host, port), timeout=max(timeout, 0.001)):
            return True, ""
    except OSError as exc:
        return False, f"dial tcp {host}:{port}: {exc.strerror or exc}"


def http_probe(spec: Mapping[str, Any], timeout: float) -> tuple[bool, str]:
    """httpGet: success is a status in [200, 400), like the kubelet (redirects not followed)."""
    import http.client  # imported lazily: only pods with httpGet probes pay for it

    host = str(spec.get("host") or "127.0.0.1")
    port = int(spec["port"])
    path = str(spec.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    headers = {"User-Agent": "kube-probe/podtask", "Accept": "*/*"}
    for h in spec.get("httpHeaders") or ():
        headers[str(h["name"])] = str(h.get("value", ""))
    conn: http.client.HTTPConnection
    if str(spec.get("scheme", "HTTP")).upper() == "HTTPS":
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the kubelet does not verify probe certificates
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read(1024).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return False, f"Get {host}:{port}{path}: {exc}"
    finally:
        conn.close()
    if 200 <= resp.status < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {resp.status} {body[:200]}".rstrip()


def run_probe(
    probe: Mapping[str, Any],
    timeout: float,
    exec_fn: Callable[[Sequence[str], float], tuple[int, str]],
    in_pod_network: Callable[[Callable[[], ProbeResult]], ProbeResult] = lambda fn: fn(),
) -> ProbeResult:
    """One attempt of a probe dict (ports already numeric): ``(ok, output)``."""
    if "exec" in probe:
        command = [str(a) for a in (probe["exec"] or {}).get("command") or ()]
        if not command:
            return False, "exec probe has no command"
        code, out = exec_fn(command, timeout)
        if code == 0:
            return True, out
        return False, out or f"command {command!r} exited with {code}"
    if "tcpSocket" in probe:
        spec = probe["tcpSocket"]
        host, port = str(spec.get("host") or "127.0.0.1"), int(spec["port"])
        return in_pod_network(lambda: tcp_probe(host, port, timeout))
    if "httpGet" in probe:
        return in_pod_network(lambda: http_probe(probe["httpGet"], timeout))
    return False, f"unsupported probe handler: {sorted(probe)}"
