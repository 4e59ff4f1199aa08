"""Env resolution shared by the engines that build a container's env themselves."""

from __future__ import annotations

import pytest

from podtask._errors import SpecError
from podtask._podspec import pod_field_values, resolve_env

META = {"name": "run-1", "labels": {"team": "ml"}}
FIELDS = pod_field_values(META, "default")


def env_of(container: dict, **kw: object) -> dict[str, str]:
    return resolve_env(
        container,
        META,
        "spec.containers[1]",
        fields=FIELDS,
        engine="podman",
        hint="use a cluster",
        **kw,
    )  # type: ignore[arg-type]


def test_values_refs_and_expansion_in_kubernetes_order() -> None:
    c = {
        "resources": {"limits": {"memory": "1Mi"}},
        "env": [
            {"name": "A", "value": "x"},
            {"name": "B", "value": "$(A)-$(MISSING)-$$(A)"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "TEAM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['team']"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
            {
                "name": "OPT",
                "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}},
            },
        ],
    }
    assert env_of(c, base={"HOME": "/root"}) == {
        "HOME": "/root",
        "A": "x",
        "B": "x-$(MISSING)-$(A)",
        "POD": "run-1",
        "TEAM": "ml",
        "MEM": "1048576",
    }


@pytest.mark.parametrize(
    ("container", "field"),
    [
        (
            {"env": [{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]},
            "spec.containers[1].env[0].valueFrom.fieldRef.fieldPath",
        ),
        (
            {"env": [{"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]},
            "spec.containers[1].env[0].valueFrom.secretKeyRef",
        ),
        ({"envFrom": [{"configMapRef": {"name": "c"}}]}, "spec.containers[1].envFrom"),
    ],
)
def test_what_needs_a_cluster_is_refused_with_the_field(container: dict, field: str) -> None:
    with pytest.raises(SpecError) as err:
        env_of(container)
    assert err.value.field == field
    assert "podman engine" in str(err.value) and "use a cluster" in str(err.value)
