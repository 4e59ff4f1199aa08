"""Shared builders for the pod spec tests: the seed's working example, as each input form."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import pytest

_SEED_JSON: dict[str, Any] = {
    "volumes": [{"name": "shared-data", "emptyDir": {"medium": "Memory"}}],
    "containers": [
        {"name": "primary", "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}]},
        {
            "name": "secondary",
            "image": "alpine",
            "command": ["/bin/sh"],
            "args": ["-c", "echo hi sidecar world > /data/message.txt"],
            "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}],
        },
    ],
}


@pytest.fixture
def seed_json() -> dict[str, Any]:
    """The Kubernetes JSON every form of the seed example must turn into (a fresh copy)."""
    return copy.deepcopy(_SEED_JSON)


@pytest.fixture
def pb() -> ModuleType:
    """k8s-proto's core/v1 module; skipped where protobuf >= 4 makes it unimportable."""
    module: ModuleType = pytest.importorskip("k8s.io.api.core.v1.generated_pb2")
    return module


@pytest.fixture
def seed_proto(pb: ModuleType) -> Any:
    """The seed document's working example, built exactly as the seed builds it."""
    pod_spec = pb.PodSpec()
    primary = pb.Container(name="primary")
    secondary = pb.Container(name="secondary", image="alpine")
    secondary.command.extend(["/bin/sh"])
    secondary.args.extend(["-c", "echo hi sidecar world > /data/message.txt"])
    mount = pb.VolumeMount(name="shared-data", mountPath="/data")
    secondary.volumeMounts.extend([mount])
    primary.volumeMounts.extend([mount])
    pod_spec.volumes.extend(
        [
            pb.Volume(
                name="shared-data",
                volumeSource=pb.VolumeSource(emptyDir=pb.EmptyDirVolumeSource(medium="Memory")),
            )
        ]
    )
    pod_spec.containers.extend([primary, secondary])
    return pod_spec


@pytest.fixture
def seed_client_model() -> Any:
    """The same pod spec as a kubernetes.client V1PodSpec."""
    client = pytest.importorskip("kubernetes.client")
    mount = client.V1VolumeMount(name="shared-data", mount_path="/data")
    return client.V1PodSpec(
        volumes=[
            client.V1Volume(
                name="shared-data", empty_dir=client.V1EmptyDirVolumeSource(medium="Memory")
            )
        ],
        containers=[
            client.V1Container(name="primary", volume_mounts=[mount]),
            client.V1Container(
                name="secondary",
                image="alpine",
                command=["/bin/sh"],
                args=["-c", "echo hi sidecar world > /data/message.txt"],
                volume_mounts=[mount],
            ),
        ],
    )
