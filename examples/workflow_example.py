"""A workflow of sidecar tasks: fetch, fan out a cleaning step, train, evaluate.

    podtask run examples/workflow_example.py nightly --day 2026-11-30

``fetch`` reads what its sidecar wrote into a shared volume; ``clean`` runs
once per shard, up to 8 at a time; ``train`` and ``evaluate`` are plain tasks.
Called as plain Python (``nightly(day="2026-11-30")``) every task runs
in-process, which is how a workflow is unit tested.
"""

import os
import time

import podtask

SHARED = {"name": "shared", "mountPath": "/data"}


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": [SHARED]},
                {
                    "name": "downloader",
                    "image": "alpine",
                    "command": ["/bin/sh", "-c", "echo 3 1 4 1 5 9 2 6 5 3 5 8 > /data/raw.txt"],
                    "volumeMounts": [SHARED],
                },
            ],
            "volumes": [{"name": "shared", "emptyDir": {"medium": "Memory"}}],
        },
        primary_container="primary",
    ),
    cache=True,
    cache_version="1",
)
def fetch(day: str) -> list[int]:
    """The sidecar downloads; the primary waits for the file and parses it.

    As plain Python there is no sidecar: set DATA_DIR to a directory holding raw.txt.
    """
    path = os.path.join(os.environ.get("DATA_DIR", "/data"), "raw.txt")
    while not os.path.isfile(path):
        time.sleep(0.05)
    with open(path) as f:
        return [int(x) for x in f.read().split()]


@podtask.task
def split(raw: list[int], n: int) -> list[list[int]]:
    return [raw[i::n] for i in range(n)]


@podtask.task(retries=1)
def clean(part: list[int]) -> list[int]:
    return sorted(x for x in part if x != 1)


@podtask.task
def train(parts: list[list[int]]) -> float:
    values = [x for p in parts for x in p]
    return sum(values) / len(values)


@podtask.task
def evaluate(model: float, data: list[int]) -> float:
    return round(sum(abs(x - model) for x in data) / len(data), 3)


@podtask.workflow
def nightly(day: str, shards: int = 4) -> float:
    raw = fetch(day=day)
    parts = podtask.map(clean, concurrency=8)(part=split(raw=raw, n=shards))
    model = train(parts=parts)
    return evaluate(model=model, data=raw)
