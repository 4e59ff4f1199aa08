"""Flyte 2 SDK tasks: an environment whose pod has a sidecar sharing a volume with the primary."""

import asyncio
import os

from kubernetes.client import (
    V1Container,
    V1EmptyDirVolumeSource,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)

import flyte

mount = V1VolumeMount(name="shared-data", mount_path="/data")

env = flyte.TaskEnvironment(
    name="sidecars",
    pod_template=flyte.PodTemplate(
        primary_container_name="primary",
        labels={"team": "ml"},
        pod_spec=V1PodSpec(
            containers=[
                V1Container(name="primary", volume_mounts=[mount]),
                V1Container(
                    name="secondary",
                    image="alpine",
                    command=[
                        "/bin/sh",
                        "-c",
                        "echo hi flyte 2 > /data/message.txt; exec sleep 3600",
                    ],
                    volume_mounts=[mount],
                ),
            ],
            volumes=[
                V1Volume(name="shared-data", empty_dir=V1EmptyDirVolumeSource(medium="Memory"))
            ],
        ),
    ),
    resources=flyte.Resources(cpu=("250m", "1"), memory="128Mi"),
    env_vars={"GREETING": "hello"},
)


@env.task(retries=2, timeout=120)
async def read_shared(name: str, times: int = 1) -> str:
    while not os.path.isfile("/data/message.txt"):
        await asyncio.sleep(0.05)
    with open("/data/message.txt") as f:
        return " ".join([f"{os.environ['GREETING']} {name}: {f.read().strip()}"] * times)


@env.task
def double(x: int) -> int:
    return 2 * x


named = flyte.TaskEnvironment(name="named", pod_template="cluster-template")


@named.task
def uses_named_template() -> None:
    pass
