"""The handoff pod the floor benchmark compares against (bench/bench_floor.py).

A dict pod spec: the sidecar writes a file into an emptyDir, the primary waits
for it and returns its content. The same pod is built by hand in
bench/floor_pod.py.
"""

import os
import time

import podtask

HANDOFF_SH = "echo handed-over > /data/msg.tmp && mv /data/msg.tmp /data/msg"

SPEC = {
    "containers": [
        {"name": "primary", "volumeMounts": [{"name": "shared", "mountPath": "/data"}]},
        {
            "name": "writer",
            "image": "busybox",
            "command": ["/bin/sh", "-c", HANDOFF_SH],
            "volumeMounts": [{"name": "shared", "mountPath": "/data"}],
        },
    ],
    "volumes": [{"name": "shared", "emptyDir": {}}],
}


@podtask.task(pod=podtask.Pod(spec=SPEC, primary_container="primary"))
def handoff() -> str:
    while not os.path.exists("/data/msg"):
        time.sleep(0.002)
    with open("/data/msg") as fh:
        return fh.read().strip()
