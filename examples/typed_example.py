"""The modern typed API: inputs and outputs from type hints, options as dataclasses."""

import os
import time
from typing import NamedTuple

import podtask


class Greeting(NamedTuple):
    out1: str


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": [{"name": "shared", "mountPath": "/data"}]},
                {
                    "name": "writer",
                    "image": "alpine",
                    "command": ["/bin/sh", "-c", "echo hi sidecar world > /data/message.txt"],
                    "volumeMounts": [{"name": "shared", "mountPath": "/data"}],
                },
            ],
            "volumes": [{"name": "shared", "emptyDir": {"medium": "Memory"}}],
        },
        primary_container="primary",
        labels={"team": "ml"},
    ),
    resources=podtask.Resources(cpu="500m", memory="128Mi", memory_limit="256Mi"),
    env={"GREETING": "Hello"},
    retries=1,
    timeout=60,
)
def greet(in1: str, times: int = 1) -> Greeting:
    while not os.path.isfile("/data/message.txt"):
        time.sleep(0.05)
    with open("/data/message.txt") as f:
        message = f.read().strip()
    return Greeting(out1=" ".join([f"{os.environ['GREETING']}, {in1}: {message}"] * times))


@podtask.task
def add(a: int, b: int = 2) -> int:
    """A plain python task: no pod spec, one container."""
    return a + b
