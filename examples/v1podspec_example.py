"""The seed's working example written with the official client's V1PodSpec."""

import os
import time

from kubernetes.client import (
    V1Container,
    V1EmptyDirVolumeSource,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)

from podtask.sdk.tasks import sidecar_task

shared = V1VolumeMount(name="shared-data", mount_path="/data")

POD_SPEC = V1PodSpec(
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
    volumes=[V1Volume(name="shared-data", empty_dir=V1EmptyDirVolumeSource(medium="Memory"))],
)


@sidecar_task(pod_spec=POD_SPEC, primary_container_name="primary")
def v1_sidecar_task(wf_params):
    while not os.path.isfile("/data/message.txt"):
        time.sleep(0.05)
