# The seed's working example written with today's flytekit: the oracle that
# `podtask export flyte examples/seed_working_example.py` is compared against.
import os
import time

from flytekit import PodTemplate, task
from kubernetes.client import (
    V1Container,
    V1EmptyDirVolumeSource,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)

shared = V1VolumeMount(name="shared-data", mount_path="/data")


@task(
    pod_template=PodTemplate(
        pod_spec=V1PodSpec(
            containers=[
                V1Container(name="primary", volume_mounts=[shared]),
                V1Container(
                    name="secondary",
                    image="alpine",
                    command=["/bin/sh"],
                    args=["-c", "echo hi sidecar world > /data/message.txt"],
                    volume_mounts=[shared],
                ),
            ],
            volumes=[
                V1Volume(name="shared-data", empty_dir=V1EmptyDirVolumeSource(medium="Memory"))
            ],
        ),
        primary_container_name="primary",
    ),
)
def my_sidecar_task() -> None:
    while not os.path.isfile("/data/message.txt"):
        time.sleep(5)
