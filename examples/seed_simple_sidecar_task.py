# The seed's `simple_sidecar_task` snippet with the imports changed to podtask.
# The snippet's body ends in "..."; here it sets its output so it can also run.
from k8s.io.api.core.v1 import generated_pb2

from podtask.sdk.tasks import inputs, outputs, sidecar_task
from podtask.sdk.types import Types


def get_pod_spec():
    my_pod_spec = generated_pb2.PodSpec()
    my_container = generated_pb2.Container(name="primary")
    # apply more customization to my_container as desired

    my_pod_spec.containers.extend([my_container])
    # apply more customization to my_pod_spec as desired

    return my_pod_spec


@inputs(in1=Types.String)
@outputs(out1=Types.String)
@sidecar_task(
    cpu_request="10",
    cpu_limit="20",
    environment={"foo": "bar"},
    pod_spec=get_pod_spec(),
    primary_container_name="primary",
)
def simple_sidecar_task(wf_params, in1, out1):
    print("Hi, {} I'll be run in a sidecar task!".format(in1))
    out1.set("Hi, {}".format(in1))
