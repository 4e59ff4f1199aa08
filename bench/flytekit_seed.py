"""The seed's working example, written for flytekit 1.x (the baseline of the benchmarks).

The seed used ``flytekit.sdk.tasks.sidecar_task`` and k8s-proto messages; that
API is gone from flytekit 1.x, where a task takes a ``PodTemplate`` holding a
``kubernetes.client.V1PodSpec``. Same pod as the seed: a primary and a
secondary container sharing an in-memory emptyDir at /data; the secondary
writes /data/message.txt and the primary waits for it.

Run locally, flytekit ignores the pod spec: only the function runs, in the
``pyflyte`` process, and the secondary never starts. So the primary polls
every 0.05 s and gives up after FLYTEKIT_SEED_WAIT_S seconds (default 1.0)
instead of waiting forever, and returns what it found.

    pyflyte run bench/flytekit_seed.py my_sidecar_task
    pyflyte run bench/flytekit_seed.py sidecar_workflow
    cd bench && pyflyte --pkgs flytekit_seed package --image busybox -o /tmp/seed.tgz --force

Needs flytekit (and its ``kubernetes`` dependency); not a podtask file.
"""

from __future__ import annotations

import os
import time

from flytekit import PodTemplate, task, workflow
from kubernetes.client import (
    V1Container,
    V1EmptyDirVolumeSource,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)

POLL_S = 0.05
WAIT_S = float(os.environ.get("FLYTEKIT_SEED_WAIT_S", "1.0"))
MESSAGE = "/data/message.txt"


def generate_pod_spec_for_task() -> V1PodSpec:
    shared = V1VolumeMount(name="shared-data", mount_path="/data")
    primary = V1Container(name="primary", volume_mounts=[shared])
    secondary = V1Container(
        name="secondary",
        image="alpine",
        command=["/bin/sh"],
        args=["-c", f"echo hi sidecar world > {MESSAGE}"],
        volume_mounts=[shared],
    )
    return V1PodSpec(
        containers=[primary, secondary],
        volumes=[V1Volume(name="shared-data", empty_dir=V1EmptyDirVolumeSource(medium="Memory"))],
    )


@task(
    pod_template=PodTemplate(
        pod_spec=generate_pod_spec_for_task(),
        primary_container_name="primary",
    )
)
def my_sidecar_task() -> str:
    # Runs in the primary container on a cluster; in the pyflyte process locally.
    deadline = time.monotonic() + WAIT_S
    while not os.path.isfile(MESSAGE):
        if time.monotonic() >= deadline:
            return f"no {MESSAGE} after {WAIT_S:g} s (the sidecar did not run)"
        time.sleep(POLL_S)
    with open(MESSAGE) as f:
        return f.read().strip()


@workflow
def sidecar_workflow() -> str:
    return my_sidecar_task()
