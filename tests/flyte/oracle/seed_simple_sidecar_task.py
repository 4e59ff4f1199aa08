# The seed's @inputs/@outputs snippet written with today's flytekit (the oracle).
import typing

from flytekit import PodTemplate, Resources, task
from kubernetes.client import V1Container, V1PodSpec


class Out(typing.NamedTuple):
    out1: str


@task(
    requests=Resources(cpu="10"),
    limits=Resources(cpu="20"),
    environment={"foo": "bar"},
    pod_template=PodTemplate(
        pod_spec=V1PodSpec(containers=[V1Container(name="primary")]),
        primary_container_name="primary",
    ),
)
def simple_sidecar_task(in1: str) -> Out:
    print(f"Hi, {in1} I'll be run in a sidecar task!")
    return Out(out1=f"Hi, {in1}")
