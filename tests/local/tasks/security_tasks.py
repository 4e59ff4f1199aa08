"""Tasks for the local engine's security tests; ``PODTASK_TEST_HOSTDIR`` is a host directory.

The pod specs are built at import time from the environment, so the CLI (which
imports this file) and the test agree on the paths.
"""

from __future__ import annotations

import os
from typing import Any

import podtask

HOSTDIR = os.environ.get("PODTASK_TEST_HOSTDIR", "/nonexistent-podtask-test-dir")


def _sub_path_spec(link_target: str) -> dict[str, Any]:
    """An init container links ``/data/esc`` to ``link_target``; the primary mounts subPath esc."""
    return {
        "volumes": [{"name": "data", "emptyDir": {}}],
        "initContainers": [
            {
                "name": "linker",
                "image": "alpine",
                "command": [
                    "sh",
                    "-c",
                    f"mkdir -p /data/inside && rm -rf /data/esc && ln -s {link_target} /data/esc",
                ],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
        ],
        "containers": [
            {
                "name": "primary",
                "volumeMounts": [
                    {"name": "data", "mountPath": "/out", "subPath": "esc"},
                    {"name": "data", "mountPath": "/whole", "readOnly": True},
                ],
            }
        ],
    }


def _write_out() -> str:
    with open("/out/written.txt", "w") as f:
        f.write("from the primary\n")
    return "ok"


@podtask.task(pod=podtask.Pod(spec=_sub_path_spec(HOSTDIR), primary_container="primary"))
def sub_path_escape() -> str:
    return _write_out()


@podtask.task(pod=podtask.Pod(spec=_sub_path_spec("inside"), primary_container="primary"))
def sub_path_inside() -> str:
    _write_out()
    with open("/whole/inside/written.txt") as f:  # the link resolved inside the volume
        return f.read().strip()
