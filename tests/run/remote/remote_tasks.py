"""A task whose storage the pod reaches only through a managed-mode proxy sidecar."""

import json
import os
import sys
from pathlib import Path

import podtask

# Set by the test before compiling (the pod imports this module too, without them).
SETUP = json.loads(os.environ.get("PODTASK_TEST_PROXY", "{}"))
PROXY = str(Path(__file__).with_name("proxy_sidecar.py"))


def _pod() -> podtask.Pod:
    if not SETUP:
        return podtask.Pod(spec={"containers": [{"name": "primary"}]})
    box = {"name": "box", "hostPath": {"path": SETUP["dir"], "type": "Directory"}}
    mount = {"name": "box", "mountPath": SETUP["dir"]}
    proxy = {
        "name": "proxy",
        "image": "python",
        "command": [
            sys.executable,
            PROXY,
            SETUP["dir"],
            SETUP["record"],
            SETUP["storage"],
            *map(str, SETUP["ports"]),
        ],
        "volumeMounts": [mount],
    }
    return podtask.Pod(
        spec={
            "containers": [{"name": "primary"}, proxy],
            "volumes": [box],
            "terminationGracePeriodSeconds": 2,
        }
    )


@podtask.task(pod=_pod())
def through_proxy(n: int) -> int:
    return n * 2
