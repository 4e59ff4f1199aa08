"""validate_pod_spec reports the first mistake with the exact field path a user must fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from podtask import SpecError
from podtask._podspec import validate_pod_spec

GOOD: dict[str, Any] = {
    "volumes": [
        {"name": "shared-data", "emptyDir": {"medium": "Memory"}},
        {"name": "config", "configMap": {"name": "app"}},
    ],
    "initContainers": [{"name": "setup", "image": "alpine"}],
    "containers": [
        {
            "name": "primary",
            "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}],
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": 1},
                "limits": {"cpu": 1, "memory": "1Gi", "nvidia.com/gpu": "1"},
            },
            "env": [{"name": "MY_VAR.x-1", "value": "v"}, {"name": "_B", "valueFrom": {}}],
            "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090}],
        },
        {
            "name": "secondary",
            "image": "alpine",
            "volumeMounts": [
                {"name": "shared-data", "mountPath": "/data"},
                {"name": "config", "mountPath": "/etc/app", "subPath": "conf/app.yaml"},
            ],
        },
    ],
}


def test_good_spec_passes() -> None:
    validate_pod_spec(copy.deepcopy(GOOD), primary="primary")


def test_primary_may_be_absent_from_the_spec() -> None:
    # compile appends it, as the seed does
    validate_pod_spec({"containers": []}, primary="main")


def _spec(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    spec = copy.deepcopy(GOOD)
    change(spec)
    return spec


def _c(index: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda spec: spec["containers"][index]


# (id, mutation of GOOD, primary, expected field)
CASES: list[tuple[str, Callable[[dict[str, Any]], object], str, str]] = [
    ("primary-empty", lambda s: None, "", "primary_container_name"),
    ("primary-upper", lambda s: None, "Primary", "primary_container_name"),
    ("primary-is-init", lambda s: None, "setup", "primary_container_name"),
    (
        "containers-not-list",
        lambda s: s.update(containers={"name": "a"}),
        "primary",
        "spec.containers",
    ),
    (
        "container-not-mapping",
        lambda s: s["containers"].append("x"),
        "primary",
        "spec.containers[2]",
    ),
    ("container-no-name", lambda s: _c(1)(s).pop("name"), "primary", "spec.containers[1].name"),
    (
        "container-bad-name",
        lambda s: _c(1)(s).update(name="side_car"),
        "primary",
        "spec.containers[1].name",
    ),
    (
        "container-name-too-long",
        lambda s: _c(1)(s).update(name="a" * 64),
        "primary",
        "spec.containers[1].name",
    ),
    (
        "container-dup-name",
        lambda s: _c(1)(s).update(name="primary"),
        "primary",
        "spec.containers[1].name",
    ),
    (
        "init-clashes-with-container",
        lambda s: s["initContainers"][0].update(name="secondary"),
        "primary",
        "spec.initContainers[0].name",
    ),
    (
        "init-bad-mount",
        lambda s: s["initContainers"][0].update(volumeMounts=[{"name": "nope", "mountPath": "/x"}]),
        "primary",
        "spec.initContainers[0].volumeMounts[0].name",
    ),
    (
        "volume-bad-name",
        lambda s: s["volumes"][0].update(name="Shared"),
        "primary",
        "spec.volumes[0].name",
    ),
    (
        "volume-dup-name",
        lambda s: s["volumes"][1].update(name="shared-data"),
        "primary",
        "spec.volumes[1].name",
    ),
    ("volume-no-source", lambda s: s["volumes"][1].pop("configMap"), "primary", "spec.volumes[1]"),
    (
        "volume-misspelt-source",
        lambda s: s["volumes"].append({"name": "v", "emptydir": {}}),
        "primary",
        "spec.volumes[2]",
    ),
    (
        "volume-two-sources",
        lambda s: s["volumes"][0].update(hostPath={"path": "/tmp"}),
        "primary",
        "spec.volumes[0].hostPath",
    ),
    (
        "mount-unknown-volume",
        lambda s: _c(1)(s)["volumeMounts"][1].update(name="cfg"),
        "primary",
        "spec.containers[1].volumeMounts[1].name",
    ),
    (
        "mount-no-name",
        lambda s: _c(0)(s)["volumeMounts"][0].pop("name"),
        "primary",
        "spec.containers[0].volumeMounts[0].name",
    ),
    (
        "mount-relative-path",
        lambda s: _c(0)(s)["volumeMounts"][0].update(mountPath="data"),
        "primary",
        "spec.containers[0].volumeMounts[0].mountPath",
    ),
    (
        "mount-no-path",
        lambda s: _c(0)(s)["volumeMounts"][0].pop("mountPath"),
        "primary",
        "spec.containers[0].volumeMounts[0].mountPath",
    ),
    (
        "mount-dup-path",
        lambda s: _c(1)(s)["volumeMounts"][1].update(mountPath="/data/"),
        "primary",
        "spec.containers[1].volumeMounts[1].mountPath",
    ),
    (
        "subpath-absolute",
        lambda s: _c(1)(s)["volumeMounts"][1].update(subPath="/etc"),
        "primary",
        "spec.containers[1].volumeMounts[1].subPath",
    ),
    (
        "subpath-dotdot",
        lambda s: _c(1)(s)["volumeMounts"][1].update(subPath="a/../../b"),
        "primary",
        "spec.containers[1].volumeMounts[1].subPath",
    ),
    (
        "quantity-bad-suffix",
        lambda s: _c(0)(s)["resources"]["limits"].update(memory="10x"),
        "primary",
        "spec.containers[0].resources.limits.memory",
    ),
    (
        "quantity-negative",
        lambda s: _c(0)(s)["resources"]["requests"].update(cpu="-1"),
        "primary",
        "spec.containers[0].resources.requests.cpu",
    ),
    (
        "quantity-empty",
        lambda s: _c(0)(s)["resources"]["requests"].update(memory=""),
        "primary",
        "spec.containers[0].resources.requests.memory",
    ),
    (
        "request-above-limit",
        lambda s: _c(0)(s)["resources"]["requests"].update(cpu="1500m"),
        "primary",
        "spec.containers[0].resources.requests.cpu",
    ),
    (
        "memory-request-above-limit",
        lambda s: _c(0)(s)["resources"]["requests"].update(memory="1025Mi"),
        "primary",
        "spec.containers[0].resources.requests.memory",
    ),
    (
        "gpu-bare-name",
        lambda s: _c(0)(s)["resources"]["limits"].update(gpu="1"),
        "primary",
        "spec.containers[0].resources.limits.gpu",
    ),
    (
        "extended-request-not-limit",
        lambda s: _c(0)(s)["resources"]["limits"].update({"nvidia.com/gpu": 2}),
        "primary",
        "spec.containers[0].resources.requests.nvidia.com/gpu",
    ),
    (
        "extended-fraction",
        lambda s: _c(0)(s)["resources"]["limits"].update({"nvidia.com/gpu": "0.5"}),
        "primary",
        "spec.containers[0].resources.limits.nvidia.com/gpu",
    ),
    (
        "env-bad-name",
        lambda s: _c(0)(s)["env"][0].update(name="1ABC"),
        "primary",
        "spec.containers[0].env[0].name",
    ),
    (
        "env-name-with-equals",
        lambda s: _c(0)(s)["env"][1].update(name="A=B"),
        "primary",
        "spec.containers[0].env[1].name",
    ),
    (
        "env-dup",
        lambda s: _c(0)(s)["env"][1].update(name="MY_VAR.x-1"),
        "primary",
        "spec.containers[0].env[1].name",
    ),
    (
        "env-value-and-from",
        lambda s: _c(0)(s)["env"][1].update(value="x"),
        "primary",
        "spec.containers[0].env[1].valueFrom",
    ),
    (
        "env-value-not-string",
        lambda s: _c(0)(s)["env"][0].update(value=3),
        "primary",
        "spec.containers[0].env[0].value",
    ),
    (
        "port-zero",
        lambda s: _c(0)(s)["ports"][1].update(containerPort=0),
        "primary",
        "spec.containers[0].ports[1].containerPort",
    ),
    (
        "port-too-big",
        lambda s: _c(0)(s)["ports"][1].update(containerPort=65536),
        "primary",
        "spec.containers[0].ports[1].containerPort",
    ),
    (
        "port-string",
        lambda s: _c(0)(s)["ports"][0].update(containerPort="8080"),
        "primary",
        "spec.containers[0].ports[0].containerPort",
    ),
    (
        "port-missing",
        lambda s: _c(0)(s)["ports"][1].pop("containerPort"),
        "primary",
        "spec.containers[0].ports[1].containerPort",
    ),
    (
        "port-name-too-long",
        lambda s: _c(0)(s)["ports"][0].update(name="a-very-long-name1"),
        "primary",
        "spec.containers[0].ports[0].name",
    ),
    (
        "port-name-digits-only",
        lambda s: _c(0)(s)["ports"][0].update(name="8080"),
        "primary",
        "spec.containers[0].ports[0].name",
    ),
    (
        "port-name-upper",
        lambda s: _c(0)(s)["ports"][0].update(name="HTTP"),
        "primary",
        "spec.containers[0].ports[0].name",
    ),
    (
        "port-name-dup",
        lambda s: _c(0)(s)["ports"][1].update(name="http"),
        "primary",
        "spec.containers[0].ports[1].name",
    ),
    (
        "port-protocol",
        lambda s: _c(0)(s)["ports"][1].update(protocol="tcp"),
        "primary",
        "spec.containers[0].ports[1].protocol",
    ),
]


@pytest.mark.parametrize(
    ("change", "primary", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_spec_names_the_exact_field(
    change: Callable[[dict[str, Any]], object], primary: str, field: str
) -> None:
    spec = _spec(change)
    with pytest.raises(SpecError) as info:
        validate_pod_spec(spec, primary=primary)
    assert info.value.field == field
    assert field in str(info.value)


def test_unknown_volume_hint_lists_the_volumes() -> None:
    spec = _spec(lambda s: _c(0)(s)["volumeMounts"][0].update(name="shared"))
    with pytest.raises(SpecError) as info:
        validate_pod_spec(spec, primary="primary")
    assert info.value.hint is not None
    assert "config" in info.value.hint and "shared-data" in info.value.hint


def test_unknown_volume_with_no_volumes_says_to_add_one() -> None:
    spec = {"containers": [{"name": "p", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}]}
    with pytest.raises(SpecError) as info:
        validate_pod_spec(spec, primary="p")
    assert info.value.hint is not None and "add a volume named 'd'" in info.value.hint


def test_duplicate_container_says_which_index_clashes() -> None:
    spec = _spec(lambda s: _c(1)(s).update(name="primary"))
    with pytest.raises(SpecError, match=r"spec\.containers\[0\]"):
        validate_pod_spec(spec, primary="primary")


def test_misspelt_volume_source_gets_a_suggestion() -> None:
    spec = {"volumes": [{"name": "v", "emptydir": {}}], "containers": []}
    with pytest.raises(SpecError) as info:
        validate_pod_spec(spec, primary="p")
    assert info.value.hint is not None and "'emptyDir'" in info.value.hint


def test_field_prefix_is_configurable() -> None:
    with pytest.raises(SpecError) as info:
        validate_pod_spec({"containers": [{"name": "A"}]}, primary="p", field="pod_spec")
    assert info.value.field == "pod_spec.containers[0].name"


def test_first_problem_wins() -> None:
    spec = {"containers": [{"name": "A"}, {"name": "B"}]}
    with pytest.raises(SpecError) as info:
        validate_pod_spec(spec, primary="p")
    assert info.value.field == "spec.containers[0].name"
