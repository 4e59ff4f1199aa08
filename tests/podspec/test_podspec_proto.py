"""k8s-proto messages come out as the Kubernetes JSON the API server and podman accept."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from podtask import SpecError
from podtask._podspec import normalize_pod, normalize_pod_spec, schema_validate_pod
from podtask._podspec.proto import message_to_json


def test_seed_example_becomes_kubernetes_json(seed_proto: Any, seed_json: Any) -> None:
    assert normalize_pod_spec(seed_proto) == seed_json


def test_seed_example_passes_the_strict_kubernetes_schema(seed_proto: Any) -> None:
    pytest.importorskip("kubernetes_validate")
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "seed"},
        "spec": normalize_pod_spec(seed_proto),
    }
    assert schema_validate_pod(manifest) is True


def test_field_order_follows_the_message(seed_proto: Any) -> None:
    spec = normalize_pod_spec(seed_proto)
    assert list(spec) == ["volumes", "containers"]
    assert list(spec["containers"][1]) == ["name", "image", "command", "args", "volumeMounts"]


def _rich_proto(pb: ModuleType) -> Any:
    resource = pytest.importorskip("k8s.io.apimachinery.pkg.api.resource.generated_pb2")
    intstr = pytest.importorskip("k8s.io.apimachinery.pkg.util.intstr.generated_pb2")
    spec = pb.PodSpec(terminationGracePeriodSeconds=5, restartPolicy="Never")
    spec.nodeSelector["disk"] = "ssd"
    container = pb.Container(name="web", image="nginx")
    container.resources.requests["cpu"].CopyFrom(resource.Quantity(string="500m"))
    container.resources.limits["memory"].string = "1Gi"
    container.ports.extend([pb.ContainerPort(name="http", containerPort=8080, protocol="TCP")])
    container.readinessProbe.handler.httpGet.path = "/healthz"
    container.readinessProbe.handler.httpGet.port.CopyFrom(
        intstr.IntOrString(type=1, strVal="http")
    )
    container.readinessProbe.periodSeconds = 2
    container.livenessProbe.handler.tcpSocket.port.CopyFrom(intstr.IntOrString(type=0, intVal=8080))
    container.lifecycle.preStop.exec.command.extend(["/bin/sh", "-c", "sleep 1"])
    container.env.extend(
        [
            pb.EnvVar(
                name="TOKEN",
                valueFrom=pb.EnvVarSource(
                    secretKeyRef=pb.SecretKeySelector(
                        localObjectReference=pb.LocalObjectReference(name="creds"), key="token"
                    )
                ),
            )
        ]
    )
    container.securityContext.privileged = False
    container.volumeMounts.extend([pb.VolumeMount(name="config", mountPath="/etc/app")])
    spec.containers.extend([container])
    spec.volumes.extend(
        [
            pb.Volume(
                name="config",
                volumeSource=pb.VolumeSource(
                    configMap=pb.ConfigMapVolumeSource(
                        localObjectReference=pb.LocalObjectReference(name="app-config"),
                        defaultMode=420,
                    )
                ),
            ),
            pb.Volume(
                name="scratch",
                volumeSource=pb.VolumeSource(
                    emptyDir=pb.EmptyDirVolumeSource(sizeLimit=resource.Quantity(string="64Mi"))
                ),
            ),
        ]
    )
    return spec


def test_every_proto_quirk_is_fixed(pb: ModuleType) -> None:
    spec = normalize_pod_spec(_rich_proto(pb))
    assert spec == {
        "volumes": [
            # volumeSource flattened; ConfigMapVolumeSource's embedded reference too
            {"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}},
            # Quantity message -> plain string
            {"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
        "containers": [
            {
                "name": "web",
                "image": "nginx",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [
                    {
                        "name": "TOKEN",
                        "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}},
                    }
                ],
                "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "500m"}},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                # handler wrapper gone; IntOrString -> int or str by its type
                "livenessProbe": {"tcpSocket": {"port": 8080}},
                "readinessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http"},
                    "periodSeconds": 2,
                },
                # Lifecycle handlers are named fields: no wrapper to remove
                "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 1"]}}},
                # explicitly set False survives; unset scalars do not appear
                "securityContext": {"privileged": False},
            }
        ],
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 5,
        "nodeSelector": {"disk": "ssd"},
    }


def test_rich_proto_passes_the_strict_kubernetes_schema(pb: ModuleType) -> None:
    pytest.importorskip("kubernetes_validate")
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "rich"},
        "spec": normalize_pod_spec(_rich_proto(pb)),
    }
    assert schema_validate_pod(manifest) is True


def test_int_or_string_without_type_follows_the_value_set() -> None:
    intstr = pytest.importorskip("k8s.io.apimachinery.pkg.util.intstr.generated_pb2")
    assert message_to_json(_wrap(intstr.IntOrString(strVal="http")), field="x") == {"port": "http"}
    assert message_to_json(_wrap(intstr.IntOrString(intVal=80)), field="x") == {"port": 80}


def test_int_or_string_with_unknown_type_is_a_spec_error() -> None:
    intstr = pytest.importorskip("k8s.io.apimachinery.pkg.util.intstr.generated_pb2")
    with pytest.raises(SpecError) as info:
        message_to_json(_wrap(intstr.IntOrString(type=7, intVal=1)), field="probe")
    assert info.value.field == "probe.port"


def _wrap(port: Any) -> Any:
    core = pytest.importorskip("k8s.io.api.core.v1.generated_pb2")
    action = core.TCPSocketAction()
    action.port.CopyFrom(port)
    return action


def test_time_becomes_rfc3339_and_bytes_become_base64(pb: ModuleType) -> None:
    meta = pytest.importorskip("k8s.io.apimachinery.pkg.apis.meta.v1.generated_pb2")
    secret = pb.Secret(metadata=meta.ObjectMeta(name="s"))
    secret.metadata.creationTimestamp.seconds = 1_700_000_000
    secret.data["key"] = b"\x00hi"
    assert message_to_json(secret, field="secret") == {
        "metadata": {"name": "s", "creationTimestamp": "2023-11-14T22:13:20Z"},
        "data": {"key": "AGhp"},
    }


def test_pod_proto_gives_spec_labels_and_annotations(
    pb: ModuleType, seed_proto: Any, seed_json: Any
) -> None:
    meta = pytest.importorskip("k8s.io.apimachinery.pkg.apis.meta.v1.generated_pb2")
    pod = pb.Pod(metadata=meta.ObjectMeta(name="p"), spec=seed_proto)
    pod.metadata.labels["team"] = "ml"
    pod.metadata.annotations["note"] = "hi"
    result = normalize_pod(pod)
    assert result.spec == seed_json
    assert result.labels == {"team": "ml"}
    assert result.annotations == {"note": "hi"}


def test_pod_template_proto_gives_its_template_spec(
    pb: ModuleType, seed_proto: Any, seed_json: Any
) -> None:
    template = pb.PodTemplate(template=pb.PodTemplateSpec(spec=seed_proto))
    template.template.metadata.labels["app"] = "seed"
    result = normalize_pod(template)
    assert result.spec == seed_json
    assert result.labels == {"app": "seed"}


def test_proto_is_not_modified(pb: ModuleType) -> None:
    spec = _rich_proto(pb)
    before = spec.SerializeToString(deterministic=True)
    out = normalize_pod_spec(spec)
    out["containers"][0]["name"] = "changed"
    assert spec.SerializeToString(deterministic=True) == before
    assert normalize_pod_spec(spec)["containers"][0]["name"] == "web"


def test_proto_of_another_type_is_refused(pb: ModuleType) -> None:
    with pytest.raises(SpecError) as info:
        normalize_pod_spec(pb.Container(name="primary"), field="pod_spec")
    assert info.value.field == "pod_spec"
    assert "k8s.io.api.core.v1.Container" in str(info.value)
