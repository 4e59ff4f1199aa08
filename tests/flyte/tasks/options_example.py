"""A podtask task using every option and type the Flyte export maps (twin: oracle/options_example.py)."""

import datetime
import pathlib
from typing import NamedTuple

import podtask
from podtask.sdk.types import Types


class Result(NamedTuple):
    report: pathlib.Path
    table: Types.CSV
    stats: dict
    tree: podtask.Directory


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "main", "ports": [{"containerPort": 8080}]},
                {
                    "name": "proxy",
                    "image": "envoyproxy/envoy:v1.30",
                    "args": ["--log-level", "warn"],
                },
            ],
        },
        primary_container="main",
        labels={"team": "data"},
        annotations={"example.com/owner": "me"},
    ),
    resources=podtask.Resources(cpu="1", memory="1Gi", cpu_limit="2", memory_limit="2Gi"),
    env={"MODE": "fast"},
    retries=3,
    timeout=datetime.timedelta(minutes=5),
    cache=True,
    cache_version="1.0",
    interruptible=True,
)
def crunch(
    when: datetime.datetime,
    gap: datetime.timedelta,
    weights: list[float],
    grid: list[list[int]],
    config: dict,
    data: pathlib.Path,
    rows: Types.CSV,
    shards: list[podtask.Directory],
    flag: bool = False,
) -> Result:
    """Crunch the numbers.

    A longer description that Flyte shows on the task's page.
    """
    return Result(data, rows, {"n": len(weights), "flag": flag}, shards[0])
