# examples/typed_example.py written with today's flytekit (the oracle).
import datetime
import os
import time
from typing import NamedTuple

from flytekit import PodTemplate, Resources, task
from kubernetes.client import (
    V1Container,
    V1EmptyDirVolumeSource,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)


class Greeting(NamedTuple):
    out1: str


shared = V1VolumeMount(name="shared", mount_path="/data")


@task(
    pod_template=PodTemplate(
        pod_spec=V1PodSpec(
            containers=[
                V1Container(name="primary", volume_mounts=[shared]),
                V1Container(
                    name="writer",
                    image="alpine",
                    command=["/bin/sh", "-c", "echo hi sidecar world > /data/message.txt"],
                    volume_mounts=[shared],
                ),
            ],
            volumes=[V1Volume(name="shared", empty_dir=V1EmptyDirVolumeSource(medium="Memory"))],
        ),
        primary_container_name="primary",
        labels={"team": "ml"},
    ),
    requests=Resources(cpu="500m", mem="128Mi"),
    limits=Resources(mem="256Mi"),
    environment={"GREETING": "Hello"},
    retries=1,
    timeout=datetime.timedelta(seconds=60),
)
def greet(in1: str, times: int = 1) -> Greeting:
    while not os.path.isfile("/data/message.txt"):
        time.sleep(0.05)
    with open("/data/message.txt") as f:
        message = f.read().strip()
    return Greeting(out1=" ".join([f"{os.environ['GREETING']}, {in1}: {message}"] * times))


@task
def add(a: int, b: int = 2) -> int:
    """A plain python task: no pod spec, one container."""
    return a + b
