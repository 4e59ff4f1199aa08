"""A stand-in for podtask.entrypoint used by the fork_entrypoint tests."""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "raise":
        raise RuntimeError("boom from the entrypoint")
    with open("/data/from-sidecar") as fh:
        shared = fh.read().strip()
    print(
        f"argv={argv} cwd={os.getcwd()} MSG={os.environ.get('MSG')} HOME={os.environ.get('HOME')}"
    )
    print(f"shared={shared} sysargv={sys.argv}")
    with open("/data/from-primary", "w") as fh:
        fh.write("done")
    return int(argv[0]) if argv else 0
