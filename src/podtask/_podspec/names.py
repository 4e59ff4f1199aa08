"""The Kubernetes name rules podtask checks before anything is launched.

Kept apart from the walker in ``validate`` so that compile and the CLI can
check a single name (the primary container's, say) with the same rule.
"""

from __future__ import annotations

import re
from typing import TypeGuard

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_PORT_NAME = re.compile(r"[-a-z0-9]+")

DNS1123_LABEL_MAX = 63
PORT_NAME_MAX = 15

DNS1123_HINT = (
    "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
)


def is_dns1123_label(value: object) -> TypeGuard[str]:
    """A container or volume name: lowercase alphanumerics and '-', 1-63 chars."""
    return (
        isinstance(value, str)
        and len(value) <= DNS1123_LABEL_MAX
        and _DNS1123_LABEL.fullmatch(value) is not None
    )


def is_env_name(value: object) -> TypeGuard[str]:
    """An environment variable name as the API server accepts it (C identifier plus '-' '.')."""
    return isinstance(value, str) and _ENV_NAME.fullmatch(value) is not None


def is_port_name(value: object) -> TypeGuard[str]:
    """An IANA service name: <= 15 chars, lowercase alnum and '-', a letter, no '--' or edge '-'."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= PORT_NAME_MAX
        and _PORT_NAME.fullmatch(value) is not None
        and re.search(r"[a-z]", value) is not None
        and "--" not in value
        and not value.startswith("-")
        and not value.endswith("-")
    )


__all__ = ["DNS1123_HINT", "is_dns1123_label", "is_env_name", "is_port_name"]
