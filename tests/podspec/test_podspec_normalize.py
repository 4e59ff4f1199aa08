"""Every accepted form of a pod spec gives the same Kubernetes JSON, as a fresh copy."""

from __future__ import annotations

import copy
import datetime
import json
import pathlib
from typing import Any

import pytest

from podtask import SpecError
from podtask._podspec import NormalizedPod, normalize_pod, normalize_pod_spec

SEED_YAML = """\
volumes:
  - name: shared-data
    emptyDir:
      medium: Memory
containers:
  - name: primary
    volumeMounts:
      - {name: shared-data, mountPath: /data}
  - name: secondary
    image: alpine
    command: [/bin/sh]
    args: ["-c", "echo hi sidecar world > /data/message.txt"]
    volumeMounts:
      - {name: shared-data, mountPath: /data}
"""


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


# --- kubernetes.client models -------------------------------------------------------------


def test_client_model_gives_the_same_dict_as_the_proto(
    seed_client_model: Any, seed_proto: Any, seed_json: dict[str, Any]
) -> None:
    from_model = normalize_pod_spec(seed_client_model)
    assert from_model == seed_json
    assert from_model == normalize_pod_spec(seed_proto)
    assert from_model == normalize_pod_spec(seed_json)


def test_client_model_int_or_string_and_quantities_pass_through() -> None:
    client = pytest.importorskip("kubernetes.client")
    spec = client.V1PodSpec(
        containers=[
            client.V1Container(
                name="web",
                resources=client.V1ResourceRequirements(limits={"cpu": "2", "memory": "1Gi"}),
                readiness_probe=client.V1Probe(
                    http_get=client.V1HTTPGetAction(path="/", port=8080), period_seconds=3
                ),
            )
        ]
    )
    assert normalize_pod_spec(spec)["containers"][0] == {
        "name": "web",
        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 3},
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}},
    }


def test_client_pod_gives_spec_labels_and_annotations(
    seed_client_model: Any, seed_json: dict[str, Any]
) -> None:
    client = pytest.importorskip("kubernetes.client")
    pod = client.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=client.V1ObjectMeta(
            name="p",
            labels={"team": "ml"},
            annotations={"note": "x"},
            creation_timestamp=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        ),
        spec=seed_client_model,
    )
    assert normalize_pod(pod) == NormalizedPod(
        spec=seed_json, labels={"team": "ml"}, annotations={"note": "x"}
    )


def test_client_pod_template_spec_is_accepted(
    seed_client_model: Any, seed_json: dict[str, Any]
) -> None:
    client = pytest.importorskip("kubernetes.client")
    template = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": "a"}), spec=seed_client_model
    )
    result = normalize_pod(template)
    assert (result.spec, result.labels) == (seed_json, {"app": "a"})


def test_client_model_is_not_modified(seed_client_model: Any) -> None:
    before = seed_client_model.to_dict()
    out = normalize_pod_spec(seed_client_model)
    out["containers"][0]["volumeMounts"][0]["mountPath"] = "/elsewhere"
    out["containers"].append({"name": "extra"})
    assert seed_client_model.to_dict() == before
    assert seed_client_model.containers[0].volume_mounts[0].mount_path == "/data"


def test_client_model_of_another_type_is_refused() -> None:
    client = pytest.importorskip("kubernetes.client")
    with pytest.raises(SpecError) as info:
        normalize_pod_spec(client.V1Container(name="primary"), field="pod_template")
    assert info.value.field == "pod_template"
    assert "V1Container" in str(info.value)


# --- plain dicts ----------------------------------------------------------------------------


def test_dict_is_deep_copied(seed_json: dict[str, Any]) -> None:
    original = copy.deepcopy(seed_json)
    out = normalize_pod_spec(seed_json)
    assert out == original
    out["containers"][1]["args"].append("--more")
    out["volumes"][0]["emptyDir"]["medium"] = ""
    assert seed_json == original


def test_dict_drops_none_and_keeps_key_order() -> None:
    spec = {"containers": [{"name": "a", "image": None, "args": ["x"]}], "hostname": None}
    out = normalize_pod_spec(spec)
    assert out == {"containers": [{"name": "a", "args": ["x"]}]}
    assert list(normalize_pod_spec({"b": 1, "a": 2, "containers": []})) == ["b", "a", "containers"]


def test_client_models_inside_a_dict_are_converted() -> None:
    client = pytest.importorskip("kubernetes.client")
    spec = {"containers": [client.V1Container(name="a", image_pull_policy="Never")]}
    assert normalize_pod_spec(spec) == {"containers": [{"name": "a", "imagePullPolicy": "Never"}]}


def test_whole_pod_dict_gives_spec_and_metadata(seed_json: dict[str, Any]) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "1"}, "annotations": {"b": "2"}},
        "spec": seed_json,
    }
    assert normalize_pod(pod) == NormalizedPod(seed_json, {"a": "1"}, {"b": "2"})
    # a PodTemplateSpec has no kind: spec + metadata is enough
    spec_only = {"metadata": {"labels": {"a": "1"}}, "spec": seed_json}
    assert normalize_pod(spec_only).labels == {"a": "1"}


def test_non_string_key_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        normalize_pod_spec({"containers": [{"name": "a", 1: "x"}]})
    assert info.value.field == "pod_spec.containers[0]"


def test_value_with_no_json_form_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        normalize_pod_spec({"containers": [{"name": "a", "args": [object()]}]})
    assert info.value.field == "pod_spec.containers[0].args[0]"


def test_other_kind_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        normalize_pod_spec({"kind": "Deployment", "spec": {}})
    assert info.value.field == "pod_spec.kind"


def test_non_string_label_is_refused_with_its_path() -> None:
    pod = {"kind": "Pod", "metadata": {"labels": {"version": 2}}, "spec": {"containers": []}}
    with pytest.raises(SpecError) as info:
        normalize_pod(pod)
    assert info.value.field == "pod_spec.metadata.labels.version"


@pytest.mark.parametrize("value", [42, None, ["containers"], b"containers: []"])
def test_unsupported_type_names_the_field_and_the_supported_types(value: object) -> None:
    with pytest.raises(SpecError) as info:
        normalize_pod_spec(value, field="pod_spec")
    assert info.value.field == "pod_spec"
    assert "V1PodSpec" in str(info.value) and "YAML" in str(info.value)


# --- files ----------------------------------------------------------------------------------


def test_yaml_pod_spec_file(tmp_path: pathlib.Path, seed_json: dict[str, Any]) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SEED_YAML)
    assert normalize_pod_spec(path) == seed_json
    assert normalize_pod_spec(str(path)) == seed_json


def test_yaml_pod_file_with_labels(tmp_path: pathlib.Path, seed_json: dict[str, Any]) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    team: ml\n"
        '  annotations:\n    owner: "me"\nspec:\n' + _indent(SEED_YAML, 2)
    )
    assert normalize_pod(path) == NormalizedPod(seed_json, {"team": "ml"}, {"owner": "me"})


def test_yaml_pod_template_file(tmp_path: pathlib.Path, seed_json: dict[str, Any]) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "apiVersion: v1\nkind: PodTemplate\nmetadata:\n  name: t\ntemplate:\n"
        "  metadata:\n    labels:\n      app: seed\n  spec:\n" + _indent(SEED_YAML, 4)
    )
    result = normalize_pod(path)
    assert (result.spec, result.labels) == (seed_json, {"app": "seed"})


def test_json_pod_template_spec_file(tmp_path: pathlib.Path, seed_json: dict[str, Any]) -> None:
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"metadata": {"annotations": {"a": "b"}}, "spec": seed_json}))
    assert normalize_pod(path) == NormalizedPod(seed_json, {}, {"a": "b"})


def test_relative_path_is_resolved_against_base_dir(
    tmp_path: pathlib.Path, seed_json: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pods").mkdir()
    (tmp_path / "pods" / "spec.yaml").write_text(SEED_YAML)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert normalize_pod_spec("pods/spec.yaml", base_dir=tmp_path) == seed_json
    with pytest.raises(SpecError, match="does not exist"):
        normalize_pod_spec("pods/spec.yaml")


def test_file_result_is_fresh_each_time(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SEED_YAML)
    first = normalize_pod_spec(path)
    first["containers"].clear()
    assert len(normalize_pod_spec(path)["containers"]) == 2
    assert path.read_text() == SEED_YAML


def test_yaml_timestamps_become_rfc3339(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text("containers: []\nsomeTime: 2024-01-02T03:04:05Z\n")
    assert normalize_pod_spec(path)["someTime"] == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("containers:\n  - name: a\n   image: b\n", "line 3"),
        ("containers: []\n---\ncontainers: []\n", "2 documents"),
        ("", "0 documents"),
        ("- name: a\n", "not a mapping"),
        ('containers: [{"name": "a"}]\nkind: Pod\n', "must be a mapping"),
    ],
    ids=["syntax", "two-docs", "empty", "list", "pod-without-spec"],
)
def test_bad_file_is_a_spec_error_naming_the_path(
    tmp_path: pathlib.Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(SpecError) as info:
        normalize_pod_spec(path, field="pod_spec")
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert info.value.field is not None and info.value.field.startswith("pod_spec")


def test_bad_json_file_gives_the_line(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "containers": [\n  }\n')
    with pytest.raises(SpecError, match="line 3"):
        normalize_pod_spec(path)


def test_missing_file_names_the_path(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SpecError) as info:
        normalize_pod_spec(tmp_path / "nope.yaml", field="pod_spec")
    assert str(tmp_path / "nope.yaml") in str(info.value)
    assert info.value.field == "pod_spec"


def test_yaml_text_instead_of_a_path_gets_a_hint() -> None:
    with pytest.raises(SpecError) as info:
        normalize_pod_spec(SEED_YAML)
    assert info.value.hint is not None and "safe_load" in info.value.hint
