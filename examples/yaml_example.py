"""A sidecar task whose pod spec lives in a YAML file next to it (a long-running sidecar)."""

import os
import time

from podtask.sdk.tasks import outputs, sidecar_task
from podtask.sdk.types import Types


@outputs(content=Types.String)
@sidecar_task(
    pod_spec="yaml_pod.yaml",
    primary_container_name="main",
    environment={"STAGE": "dev"},
    memory_request="64Mi",
    memory_limit="256Mi",
)
def read_fetched(wf_params, content):
    while not os.path.isfile("/data/input.txt"):
        time.sleep(0.05)
    with open("/data/input.txt") as f:
        content.set(f.read().strip() + " " + os.environ["GREETING"])
