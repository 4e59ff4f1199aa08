"""A podtask task -> flyteidl ``TaskSpec``, field for field as ``pyflyte package`` writes it.

The pod is compiled by podtask's own compiler first (validation, the primary
container's rules, warnings), so an exported task and a ``podtask run`` of it
get the same pod; only the primary's command line changes, to the Flyte
contract of ``contract.py``.  Shapes mirror flytekit 1.16 for a
``@task(pod_template=PodTemplate(...))``: type ``python-task``, target
``k8s_pod`` with the pod spec as a Kubernetes-JSON Struct, pod labels and
annotations in ``k8s_pod.metadata``, the primary's name in
``config["primary_container_name"]``.  A task without a pod spec becomes a
``container`` target, as a flytekit task without a pod template does.

``legacy_sidecar=True`` writes the ``sidecar`` task type in the form Flyte's
sidecar plugin reads for ``task_type_version`` 0 (the seed's era): ``custom``
holds ``podSpec`` (Kubernetes JSON), ``primaryContainerName``, ``labels`` and
``annotations``; the plugin decodes it with Go's JSON decoder into Kubernetes
types, not with protobuf's, so Kubernetes JSON is the right form.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podtask._authoring import Task, Variable
from podtask._compile import compile_task
from podtask.interop.flyte import contract
from podtask.interop.flyte._idl import idl
from podtask.interop.flyte.types import to_flyte_type

POD_TASK_TYPE = "python-task"  # what flytekit writes for a pod_template task
SIDECAR_TASK_TYPE = "sidecar"
PRIMARY_CONFIG_KEY = "primary_container_name"
RUNTIME_FLAVOR = "podtask"

# Kubernetes resource name -> flyteidl Resources.ResourceName (container target only).
_RESOURCE_NAMES = {
    "cpu": "CPU",
    "memory": "MEMORY",
    "nvidia.com/gpu": "GPU",
    "ephemeral-storage": "EPHEMERAL_STORAGE",
}


@dataclass(frozen=True, kw_only=True)
class Registration:
    """Where the task is registered: empty fields are filled by ``flytectl register``."""

    project: str = ""
    domain: str = ""
    version: str = ""


@dataclass(frozen=True)
class ExportedTask:
    name: str  # the Flyte task name: MODULE.NAME, as flytekit names it
    spec: Any  # flyteidl.admin.task_pb2.TaskSpec
    warnings: tuple[str, ...]


def flyte_task_name(reference: str) -> str:
    """``MODULE:NAME`` -> ``MODULE.NAME`` (flytekit's default task name)."""
    return reference.replace(":", ".")


def export_task(
    task: Task,
    *,
    image: str,
    reference: str,
    registration: Registration | None = None,
    base_dir: Path | None = None,
    legacy_sidecar: bool = False,
) -> ExportedTask:
    """Compile ``task`` and express it as a flyteidl ``TaskSpec``."""
    compiled = compile_task(task, image=image, reference=reference, base_dir=base_dir)
    tmpl = compiled.template
    tasks_pb2 = idl("core.tasks_pb2")
    reg = registration or Registration()
    name = flyte_task_name(reference)
    template = tasks_pb2.TaskTemplate(
        id=idl("core.identifier_pb2").Identifier(
            resource_type=idl("core.identifier_pb2").ResourceType.TASK,
            project=reg.project,
            domain=reg.domain,
            name=name,
            version=reg.version,
        ),
        metadata=_metadata(task),
        interface=_interface(task),
    )
    primary = tmpl["primaryContainerName"]
    spec = _with_flyte_command(tmpl["podSpec"], primary, reference)
    if legacy_sidecar:
        template.type = SIDECAR_TASK_TYPE
        template.custom.update(
            {
                "podSpec": spec,
                "primaryContainerName": primary,
                "labels": tmpl["labels"],
                "annotations": tmpl["annotations"],
            }
        )
    elif task.pod is not None:
        template.type = POD_TASK_TYPE
        template.config[PRIMARY_CONFIG_KEY] = primary
        template.k8s_pod.metadata.SetInParent()  # written even when empty, as flytekit does
        template.k8s_pod.metadata.labels.update(tmpl["labels"])
        template.k8s_pod.metadata.annotations.update(tmpl["annotations"])
        template.k8s_pod.pod_spec.update(spec)
    else:
        template.type = POD_TASK_TYPE
        template.container.CopyFrom(_container(spec, primary))
    task_spec = idl("admin.task_pb2").TaskSpec(template=template, description=_description(task))
    return ExportedTask(name=name, spec=task_spec, warnings=compiled.warnings)


def _with_flyte_command(spec: Mapping[str, Any], primary: str, reference: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(spec))
    for c in out["containers"]:
        if c["name"] == primary:
            c["command"] = list(contract.ENTRYPOINT_COMMAND)
            c["args"] = contract.entrypoint_args(reference)
            c.setdefault("env", [])  # flytekit always writes the primary's env
            if "resources" in c:  # ... and both sections once it has resources
                c["resources"] = {"requests": {}, "limits": {}, **c["resources"]}
    return out


def _metadata(task: Task) -> Any:
    tasks_pb2 = idl("core.tasks_pb2")
    import podtask

    md = tasks_pb2.TaskMetadata(
        discoverable=task.cache,
        discovery_version=task.cache_version,
        deprecated_error_message=task.deprecated,
        runtime=tasks_pb2.RuntimeMetadata(
            type=tasks_pb2.RuntimeMetadata.RuntimeType.OTHER,
            version=podtask.__version__,
            flavor=RUNTIME_FLAVOR,
        ),
        retries=idl("core.literals_pb2").RetryStrategy(retries=task.retries),
        metadata=tasks_pb2.K8sObjectMetadata(),
    )
    md.generates_deck.value = False  # flytekit always writes it
    if task.interruptible:
        md.interruptible = True
    if task.timeout is not None:
        md.timeout.FromNanoseconds(round(task.timeout * 1e9))
    return md


def _variables(variables: tuple[Variable, ...]) -> Any:
    interface_pb2 = idl("core.interface_pb2")
    vm = interface_pb2.VariableMap()
    for v in variables:
        # flytekit's description is the parameter's docstring text, else its name.
        vm.variables[v.name].CopyFrom(
            interface_pb2.Variable(type=to_flyte_type(v.type), description=v.name)
        )
    return vm


def _interface(task: Task) -> Any:
    return idl("core.interface_pb2").TypedInterface(
        inputs=_variables(task.interface.inputs), outputs=_variables(task.interface.outputs)
    )


def _container(spec: Mapping[str, Any], primary: str) -> Any:
    """The ``container`` target of a task without a pod spec (its one container)."""
    tasks_pb2 = idl("core.tasks_pb2")
    literals_pb2 = idl("core.literals_pb2")
    c = next(c for c in spec["containers"] if c["name"] == primary)
    res = tasks_pb2.Resources()
    for section in ("requests", "limits"):
        for key, value in sorted(c.get("resources", {}).get(section, {}).items()):
            entry = getattr(res, section).add()
            entry.name = tasks_pb2.Resources.ResourceName.Value(_RESOURCE_NAMES[key])
            entry.value = value
    return tasks_pb2.Container(
        image=c["image"],
        command=c["command"],
        args=c["args"],
        resources=res,
        env=[literals_pb2.KeyValuePair(key=e["name"], value=e["value"]) for e in c.get("env", [])],
    )


def _description(task: Task) -> Any:
    """The docstring's first paragraph is the short description, the rest the long one."""
    entity_pb2 = idl("admin.description_entity_pb2")
    doc = inspect.cleandoc(task.__doc__ or "")
    short, _, rest = doc.partition("\n\n")
    long = entity_pb2.Description(format=entity_pb2.DescriptionFormat.DESCRIPTION_FORMAT_RST)
    if rest.strip():
        long.value = rest.strip()
    return entity_pb2.DescriptionEntity(
        short_description=" ".join(short.split()), long_description=long
    )
