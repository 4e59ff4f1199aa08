"""A fork_entrypoint module for the warm-start tests: reports what the container inherited."""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str]) -> int:
    marker = sys.modules.get(argv[0])
    print(f"token={getattr(marker, 'TOKEN', None)}")
    print(f"pid={os.getpid()} sid={os.getsid(0)}")
    print(
        f"sigint={signal.getsignal(signal.SIGINT)!r} sigterm={signal.getsignal(signal.SIGTERM)!r}"
    )
    if len(argv) > 1 and argv[1] == "wait":
        signal.pause()
    return 0
