"""Who may talk to the test API server, and in what form.

Its pods run as root on this machine (through the local engine), so reaching
its port must not be enough to run one. It serves HTTPS with a certificate
made for it at start (kubectl, like every client-go program, sends a bearer
token only over TLS), and applies three checks, in the order a real API
server applies the equivalent ones:

- the ``Host`` header must name a loopback host, so a web page that rebinds
  its own DNS name to 127.0.0.1 is refused;
- a bearer token that only the kubeconfig written by the server holds (mode
  0600), else 401 with the ``Unauthorized`` Status a real server sends;
- writes must carry one of the media types a Kubernetes client sends (415
  otherwise; no ``Content-Type`` means JSON, as on a real server), so a
  browser's cross-site ``text/plain`` or form post is refused even before
  the token would be.

``/healthz``, ``/livez``, ``/readyz`` and ``/version`` stay readable without
a token, as a real cluster's ``system:public-info-viewer`` role allows.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podtask.testing.apiserver.errors import ApiError, bad_request

WRITE_TYPES = (
    "application/json",
    "application/yaml",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
PATCH_TYPES = (*WRITE_TYPES[2:], "application/json-patch+json")
PUBLIC = (("healthz",), ("livez",), ("readyz",), ("version",))
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def is_public(method: str, seg: list[str]) -> bool:
    return method == "GET" and tuple(seg[:1]) in PUBLIC


def _host_name(host: str) -> str:
    """The name part of a Host header: ``[::1]:8080`` -> ``::1``, ``a:80`` -> ``a``."""
    host = host.strip()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def is_loopback(host: str) -> bool:
    name = _host_name(host).rstrip(".").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_host(host: str | None) -> None:
    if host is None or not is_loopback(host):
        raise ApiError(
            403,
            "Forbidden",
            f"host {host!r} is not a loopback name or address: this test API server answers"
            " only requests addressed to 127.0.0.1, ::1 or localhost",
        )


def check_token(header: str | None, token: str) -> None:
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise unauthorized()


def check_content_type(header: str | None, method: str) -> str:
    """The media type of a write's body, or 415 when a Kubernetes client would not send it."""
    ctype = (header or "").split(";", 1)[0].strip().lower()
    if not ctype:
        # A real server reads a body without a type as JSON, and the official Python
        # client sends creates that way. A browser cannot use this to reach a pod:
        # without the token it gets 401, and a rebound page's Host is refused.
        ctype = "application/json"
    allowed = PATCH_TYPES if method == "PATCH" else WRITE_TYPES
    if ctype not in allowed:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format ({ctype or 'no Content-Type'})"
            f" - accepted media types include: {', '.join(WRITE_TYPES)}",
        )
    return ctype


def decode_body(raw: bytes, ctype: str) -> Any:
    if ctype.endswith("yaml"):
        import yaml

        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise bad_request(f"the body of the request was in an unknown format: {exc}") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"the body of the request was in an unknown format: {exc}") from exc


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` as mode 0600, atomically (no moment with wider rights)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1, ::1 and localhost, and its key (both 0600)."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, directory: Path) -> Certificate:
        """Generate one with ``openssl`` (an EC P-256 key, valid for a week)."""
        openssl = shutil.which("openssl")
        if openssl is None:
            raise OSError(
                "the test API server serves HTTPS and needs the openssl command to make its"
                " certificate: install openssl (e.g. apt-get install openssl)"
            )
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        cert, key = directory / "apiserver.crt", directory / "apiserver.key"
        old = os.umask(0o077)
        try:
            done = subprocess.run(
                [
                    openssl,
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "7",
                    "-subj",
                    "/CN=podtask-test-apiserver",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,digitalSignature,keyCertSign",
                    "-addext",
                    "extendedKeyUsage=serverAuth",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            os.umask(old)
        if done.returncode != 0:
            raise OSError(f"openssl could not make the server certificate: {done.stderr.strip()}")
        return cls(cert, key)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """What a raw client (urllib, http.client) uses to trust this server."""
        return ssl.create_default_context(cafile=str(self.cert))
