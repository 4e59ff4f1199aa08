"""Who may talk to ``podtask ui``: a token in every request, and loopback Host names.

The page shows run logs, inputs and outputs, so it is guarded as Jupyter
guards a notebook server: a random token printed with the URL must come with
every request (compared in constant time), and a server bound to loopback
answers only requests addressed to a loopback name, so a web page that
rebinds its own DNS name to 127.0.0.1 cannot read the runs either.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_ok(given: str | None, expected: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, without port or brackets) is this machine only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host part of a Host header: ``[::1]:8470`` -> ``::1``, ``a:80`` -> ``a``."""
    header = header.strip()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        return header.partition(":")[0]
    return header


def host_ok(header: str | None, *, remote_allowed: bool) -> bool:
    """A loopback server answers only loopback names; a remote one (opted in) any name."""
    if header is None:
        return False
    return remote_allowed or is_loopback(host_name(header))
