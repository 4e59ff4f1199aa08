"""Strict offline schema validation of whole Pod manifests (kubernetes-validate)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from podtask import SpecError
from podtask._podspec import schema_validate_pod


@pytest.fixture(autouse=True)
def _needs_kubernetes_validate(request: pytest.FixtureRequest) -> None:
    if "without_package" not in request.node.name:
        pytest.importorskip("kubernetes_validate")


def _pod(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "b"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "primary", "image": "alpine", **container}],
        },
    }


def test_good_pod_validates() -> None:
    assert schema_validate_pod(_pod(args=["-c", "true"])) is True


@pytest.mark.parametrize("version", ["1.30.0", "1.30", "v1.30", "1.25.3", "1.37"])
def test_version_spellings(version: str) -> None:
    assert schema_validate_pod(_pod(), k8s_version=version) is True


@pytest.mark.parametrize("version", ["1.24", "1.9", "1.99", "latest", ""])
def test_unsupported_version_is_a_spec_error(version: str) -> None:
    with pytest.raises(SpecError) as info:
        schema_validate_pod(_pod(), k8s_version=version)
    assert info.value.field == "k8s_version"


def test_unknown_field_is_named_exactly() -> None:
    with pytest.raises(SpecError) as info:
        schema_validate_pod(_pod(bogus=1))
    assert info.value.field == "spec.containers[0].bogus"
    assert "unknown field 'bogus'" in str(info.value)


def test_misspelt_field_gets_a_suggestion() -> None:
    with pytest.raises(SpecError) as info:
        schema_validate_pod(_pod(volumeMount=[]))
    assert info.value.field == "spec.containers[0].volumeMount"
    assert info.value.hint == "did you mean 'volumeMounts'?"


def test_wrong_type_is_named_exactly() -> None:
    with pytest.raises(SpecError) as info:
        schema_validate_pod(_pod(ports=[{"containerPort": "8080"}]))
    assert info.value.field == "spec.containers[0].ports[0].containerPort"
    assert "integer" in str(info.value)


def test_wrong_quantity_type_says_what_is_accepted() -> None:
    with pytest.raises(SpecError) as info:
        schema_validate_pod(_pod(resources={"limits": {"cpu": [1]}}))
    assert info.value.field == "spec.containers[0].resources.limits.cpu"
    assert "string" in str(info.value) and "number" in str(info.value)


def test_missing_required_field_is_named() -> None:
    manifest = _pod()
    del manifest["spec"]["containers"][0]["name"]
    with pytest.raises(SpecError) as info:
        schema_validate_pod(manifest)
    assert info.value.field == "spec.containers[0].name"


def test_volume_source_wrapper_from_message_to_dict_is_rejected() -> None:
    # The shape json_format.MessageToDict gives for a k8s-proto Volume: not Kubernetes JSON.
    manifest = _pod()
    manifest["spec"]["volumes"] = [{"name": "d", "volumeSource": {"emptyDir": {}}}]
    with pytest.raises(SpecError) as info:
        schema_validate_pod(manifest)
    assert info.value.field == "spec.volumes[0].volumeSource"


def test_not_a_pod_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        schema_validate_pod({**_pod(), "kind": "Deployment"})
    assert info.value.field == "kind"


def test_without_package_returns_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)
    assert schema_validate_pod(_pod(image=123)) is False  # types are the package's to check


def test_without_package_unknown_field_names_are_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)
    with pytest.raises(SpecError) as info:
        schema_validate_pod(_pod(imagePullPolicyy="Always"))
    assert info.value.field == "spec.containers[0].imagePullPolicyy"
    assert str(info.value).endswith(
        "unknown field 'imagePullPolicyy' (did you mean 'imagePullPolicy'?)"
    )
    nested = _pod(
        resources={"limits": {"cpu": "1"}}, securityContext={"capabilities": {"addd": []}}
    )
    with pytest.raises(SpecError) as info:
        schema_validate_pod(nested)
    assert info.value.field == "spec.containers[0].securityContext.capabilities.addd"
