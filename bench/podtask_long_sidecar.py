"""The seed pod with a sidecar that outlives the primary (for the stop-delay benchmark).

In the seed the secondary writes its file and exits on its own, before the
primary ends, so nothing is left to stop. Here it writes the file and then
keeps running, so the engine must SIGTERM it when the primary exits; the
delay between the two is what bench_run_local.py part (c) reads.

    podtask run bench/podtask_long_sidecar.py long_sidecar_task --json
"""

from __future__ import annotations

import os
import time

import podtask

MESSAGE = "/data/message.txt"
SHARED = [{"name": "shared-data", "mountPath": "/data"}]


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": SHARED},
                {
                    "name": "secondary",
                    "image": "alpine",
                    "command": ["/bin/sh", "-c"],
                    "args": [f"echo hi sidecar world > {MESSAGE}; exec sleep 3600"],
                    "volumeMounts": SHARED,
                },
            ],
            "volumes": [{"name": "shared-data", "emptyDir": {"medium": "Memory"}}],
        },
        primary_container="primary",
    ),
)
def long_sidecar_task() -> str:
    while not os.path.isfile(MESSAGE):
        time.sleep(0.05)
    with open(MESSAGE) as f:
        return f.read().strip()
