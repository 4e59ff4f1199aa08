# tests/flyte/tasks/options_example.py written with today's flytekit (the oracle).
import datetime
import typing
from typing import NamedTuple

from flytekit import PodTemplate, Resources, task
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from kubernetes.client import V1Container, V1ContainerPort, V1PodSpec

CSV = FlyteFile[typing.TypeVar("csv")]


class Result(NamedTuple):
    report: FlyteFile
    table: CSV
    stats: dict
    tree: FlyteDirectory


@task(
    pod_template=PodTemplate(
        pod_spec=V1PodSpec(
            containers=[
                V1Container(name="main", ports=[V1ContainerPort(container_port=8080)]),
                V1Container(
                    name="proxy", image="envoyproxy/envoy:v1.30", args=["--log-level", "warn"]
                ),
            ]
        ),
        primary_container_name="main",
        labels={"team": "data"},
        annotations={"example.com/owner": "me"},
    ),
    requests=Resources(cpu="1", mem="1Gi"),
    limits=Resources(cpu="2", mem="2Gi"),
    environment={"MODE": "fast"},
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
    data: FlyteFile,
    rows: CSV,
    shards: list[FlyteDirectory],
    flag: bool = False,
) -> Result:
    """Crunch the numbers.

    A longer description that Flyte shows on the task's page.
    """
    return Result(data, rows, {"n": len(weights), "flag": flag}, shards[0])
