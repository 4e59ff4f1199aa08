"""The handoff pod, held open: the memory benchmark's pod (bench/bench_pod_memory.py).

Like bench/handoff_task.py, but after reading the sidecar's file the primary
reports that it is up (a file in the hostPath ``$BENCH_SYNC_DIR``) and waits
until the benchmark releases it, so all pods of a concurrent batch can be
measured while every one of them is running.
"""

import os
import time

import podtask

SYNC_DIR = os.environ.get("BENCH_SYNC_DIR", "/tmp/podtask-bench-sync")
HANDOFF_SH = (
    "trap 'exit 0' TERM; echo handed-over > /data/msg.tmp && mv /data/msg.tmp /data/msg;"
    " sleep 3600 & wait"
)

SPEC = {
    "containers": [
        {
            "name": "primary",
            "volumeMounts": [
                {"name": "shared", "mountPath": "/data"},
                {"name": "sync", "mountPath": "/sync"},
            ],
        },
        {
            "name": "writer",
            "image": "busybox",
            "command": ["/bin/sh", "-c", HANDOFF_SH],
            "volumeMounts": [{"name": "shared", "mountPath": "/data"}],
        },
    ],
    "volumes": [
        {"name": "shared", "emptyDir": {}},
        {"name": "sync", "hostPath": {"path": SYNC_DIR, "type": "Directory"}},
    ],
}


@podtask.task(pod=podtask.Pod(spec=SPEC, primary_container="primary"))
def hold() -> str:
    while not os.path.exists("/data/msg"):
        time.sleep(0.005)
    with open("/data/msg") as fh:
        text = fh.read().strip()
    with open(f"/sync/up-{os.getpid()}-{time.time_ns()}", "w"):
        pass
    while not os.path.exists("/sync/release"):
        time.sleep(0.05)
    return text
