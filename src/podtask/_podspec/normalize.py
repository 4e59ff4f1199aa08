"""Every accepted pod spec form -> one canonical Kubernetes JSON dict.

Users bring pod specs in four shapes: the seed's k8s-proto ``PodSpec``, a
``kubernetes.client`` model, a plain dict, or a YAML/JSON file. Everything
downstream (compile, validation, engines) sees only the plain dict made here,
so each shape's quirks are dealt with once. The result is always a fresh copy:
a task definition must never change the object its author passed in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from podtask._errors import SpecError
from podtask._podspec import clientmodel, proto

_SUPPORTED = (
    "a k8s-proto generated_pb2.PodSpec, a kubernetes.client V1PodSpec/V1Pod/V1PodTemplateSpec, "
    "a dict in Kubernetes JSON form, or a path to a YAML/JSON file"
)


@dataclasses.dataclass(frozen=True)
class NormalizedPod:
    """A pod spec in Kubernetes JSON plus the pod labels/annotations that came with it.

    Labels and annotations are kept apart from the spec because a whole Pod or
    PodTemplate file carries them in ``metadata``, and compile merges them with
    the task's own labels.
    """

    spec: dict[str, Any]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)


def normalize_pod_spec(
    obj: object, *, field: str = "pod_spec", base_dir: pathlib.Path | None = None
) -> dict[str, Any]:
    """Like :func:`normalize_pod` but only the spec."""
    return normalize_pod(obj, field=field, base_dir=base_dir).spec


def normalize_pod(
    obj: object, *, field: str = "pod_spec", base_dir: pathlib.Path | None = None
) -> NormalizedPod:
    """Turn any accepted pod spec form into a :class:`NormalizedPod`.

    ``field`` is the name of the user's argument, used in error paths;
    ``base_dir`` anchors relative file paths (the directory of the task's
    module, typically) so that a task finds its YAML wherever it is run from.
    """
    if isinstance(obj, (str, os.PathLike)):
        path = _resolve(obj, field=field, base_dir=base_dir)
        return _from_mapping(_load_file(path, field=field), field=field, source=str(path))
    if proto.is_message(obj):
        name = proto.full_name(obj)
        if name not in proto.ACCEPTED:
            raise _unsupported(f"protobuf message {name}", field)
        data = proto.message_to_json(obj, field=field)
        return _from_mapping(data, field=field, source=None)
    if clientmodel.is_model(obj):
        class_name = type(obj).__name__
        if class_name not in clientmodel.ACCEPTED:
            raise _unsupported(f"kubernetes.client model {class_name}", field)
        return _from_mapping(clientmodel.to_json(obj, field=field), field=field, source=None)
    if isinstance(obj, Mapping):
        return _from_mapping(obj, field=field, source=None)
    raise _unsupported(type(obj).__name__, field)


def _unsupported(what: str, field: str) -> SpecError:
    return SpecError(f"cannot use {what} as a pod spec", field=field, hint=f"pass {_SUPPORTED}")


def _from_mapping(data: Mapping[Any, Any], *, field: str, source: str | None) -> NormalizedPod:
    where = f" in {source}" if source else ""
    copied = clientmodel.to_json(data, field=field)
    if not isinstance(copied, dict):  # pragma: no cover - a Mapping always converts to a dict
        raise SpecError(f"expected a mapping{where}", field=field)
    spec, metadata, spec_field = _unwrap(copied, field=field, where=where)
    if not isinstance(spec, dict):
        raise SpecError(
            f"the pod spec{where} must be a mapping, not {type(spec).__name__}", field=spec_field
        )
    labels = _string_map(metadata, "labels", field=field, where=where)
    annotations = _string_map(metadata, "annotations", field=field, where=where)
    return NormalizedPod(spec=spec, labels=labels, annotations=annotations)


def _unwrap(data: dict[str, Any], *, field: str, where: str) -> tuple[Any, Any, str]:
    """Find the PodSpec inside a Pod, PodTemplate or PodTemplateSpec; a bare spec is itself."""
    kind = data.get("kind")
    if kind == "PodTemplate" or (kind is None and "template" in data and "containers" not in data):
        template = data.get("template")
        if not isinstance(template, dict):
            raise SpecError(
                f"a PodTemplate{where} needs a template mapping", field=f"{field}.template"
            )
        return template.get("spec"), template.get("metadata"), f"{field}.template.spec"
    if kind == "Pod" or (kind is None and "spec" in data and "containers" not in data):
        return data.get("spec"), data.get("metadata"), f"{field}.spec"
    if kind is not None:
        raise SpecError(
            f"kind {kind!r}{where} is not a Pod or PodTemplate",
            field=f"{field}.kind",
            hint="pass a PodSpec, a Pod or a PodTemplate",
        )
    return data, None, field


def _string_map(metadata: Any, key: str, *, field: str, where: str) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise SpecError(f"metadata{where} must be a mapping", field=f"{field}.metadata")
    values = metadata.get(key)
    if values is None:
        return {}
    path = f"{field}.metadata.{key}"
    if not isinstance(values, dict):
        raise SpecError(f"{key}{where} must be a mapping of strings", field=path)
    for name, value in values.items():
        if not isinstance(value, str):
            raise SpecError(
                f"{key} value{where} must be a string, not {type(value).__name__}",
                field=f"{path}.{name}",
                hint=f'quote it in YAML: {name}: "{value}"',
            )
    return dict(values)


def _resolve(
    obj: str | os.PathLike[Any], *, field: str, base_dir: pathlib.Path | None
) -> pathlib.Path:
    raw = os.fspath(obj)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if "\n" in raw:
        raise SpecError(
            "a str pod spec is a file path, and this one holds several lines",
            field=field,
            hint="pass yaml.safe_load(text) for YAML text, or the path of a YAML file",
        )
    path = pathlib.Path(raw).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = pathlib.Path(base_dir) / path
    return path


def _load_file(path: pathlib.Path, *, field: str) -> Mapping[Any, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(
            f"pod spec file {path} does not exist",
            field=field,
            hint="relative paths are resolved against the task's directory",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read pod spec file {path}: {exc}", field=field) from exc
    documents = _parse(text, path, field=field)
    documents = [doc for doc in documents if doc is not None]
    if len(documents) != 1:
        raise SpecError(
            f"pod spec file {path} holds {len(documents)} documents, expected exactly one",
            field=field,
            hint="put one PodSpec, Pod or PodTemplate in the file",
        )
    (document,) = documents
    if not isinstance(document, Mapping):
        raise SpecError(
            f"pod spec file {path} holds a {type(document).__name__}, not a mapping",
            field=field,
            hint="the file must hold a PodSpec, a Pod or a PodTemplate",
        )
    return document


def _parse(text: str, path: pathlib.Path, *, field: str) -> list[Any]:
    try:
        return _parse_documents(text, path, field=field)
    except RecursionError:
        raise SpecError(
            f"{path} is nested too deeply to read",
            field=field,
            hint="a pod spec is a few levels deep; check for runaway nesting",
        ) from None


def _parse_documents(text: str, path: pathlib.Path, *, field: str) -> list[Any]:
    if path.suffix.lower() == ".json":
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"{path} line {exc.lineno}: invalid JSON: {exc.msg}", field=field
            ) from exc
    import yaml  # lazily: PyYAML costs import time only when a file is used

    try:
        return list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{path}{line}: invalid YAML: {exc.problem}", field=field) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: invalid YAML: {exc}", field=field) from exc


__all__ = ["NormalizedPod", "normalize_pod", "normalize_pod_spec"]
