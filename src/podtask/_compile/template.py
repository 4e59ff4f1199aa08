"""Task -> task template + Pod manifest (Flyte calls this registration).

Pure apart from reading a pod spec YAML file the task points to: no clocks,
no randomness, no host paths, so compiling twice gives identical bytes.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podtask._authoring import Task
from podtask._compile.portable import Requirement, requirements, uses_images
from podtask._compile.primary import apply_primary_rules, entrypoint_args
from podtask._compile.render import to_json
from podtask._compile.resources import task_resources
from podtask._contract import ANNOTATION_PRIMARY, ENTRYPOINT_COMMAND
from podtask._errors import SpecError
from podtask._podspec import normalize_pod, schema_validate_pod, validate_pod_spec

DEFAULT_IMAGE = "localhost/podtask-python:latest"
API_VERSION = "podtask.io/v1"
LABEL_TASK = "podtask.io/task"
ANNOTATION_VERSION = "podtask.io/task-version"

_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class CompiledTask:
    """A compiled task; ``warnings`` are all of them, ``warnings_for`` those of one engine."""

    name: str
    template: dict[str, Any]
    manifest: dict[str, Any]
    warnings: tuple[str, ...] = field(default=())
    schema_checked: bool = False
    image_warnings: tuple[str, ...] = field(default=())  # a subset of warnings
    requirements: tuple[Requirement, ...] = field(default=())

    def warnings_for(self, engine: str | None, *, strict: bool = False) -> tuple[str, ...]:
        """The warnings that concern ``engine`` (None: any); raise what it would refuse.

        A requirement of another engine is a warning, or an error with ``strict``,
        so that a task that runs here is told what a cluster will refuse.
        """
        for req in self.requirements:
            if strict or engine in req.engines:
                raise SpecError(req.message, field=req.field, hint=req.hint)
        shown = [w for w in self.warnings if uses_images(engine) or w not in self.image_warnings]
        shown += [
            f"{req.field}: {req.message}; the {' and '.join(sorted(req.engines))} engines "
            f"will refuse it"
            for req in self.requirements
        ]
        return tuple(shown)


def _check_labels(mapping: dict[str, str], *, what: str, where: str) -> None:
    for key, value in mapping.items():
        prefix, _, name = key.rpartition("/")
        if (
            not name
            or len(name) > 63
            or not _LABEL_NAME.match(name)
            or (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)))
        ):
            raise SpecError(
                f"invalid {what[:-1]} key {key!r}",
                field=f"{where}.{what}.{key}",
                hint="use [prefix/]name with a name of at most 63 letters, digits, '-', '_' or '.'",
            )
        if what == "labels" and (len(value) > 63 or not _LABEL_NAME.match(value)):
            raise SpecError(
                f"invalid label value {value!r}",
                field=f"{where}.labels.{key}",
                hint="at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends",
            )


def pod_name_for(task_name: str) -> str:
    """A DNS-1123 name for the compiled Pod; engines replace it with the run id."""
    name = re.sub(r"[^a-z0-9-]+", "-", task_name.lower()).strip("-")
    return (name or "task")[:63].rstrip("-")


def compile_task(
    task: Task,
    *,
    image: str | None = None,
    default_image: str = DEFAULT_IMAGE,
    reference: str | None = None,
    base_dir: Path | None = None,
    schema_cache_dir: Path | None = None,
) -> CompiledTask:
    """Compile ``task``; ``image`` (``--image``) beats the task's image, which beats the default.

    ``reference`` is ``MODULE:NAME`` as the entrypoint will import it;
    ``base_dir`` resolves a relative pod spec YAML path (the task file's dir);
    ``schema_cache_dir`` remembers manifests that already passed strict validation.
    """
    task.check_complete()
    where = task.name
    reference = reference or f"{task.module}:{task.name}"
    final_image = image or task.image or default_image
    resources = task_resources(task.resources, where=where)
    env = dict(task.env)

    pod = task.pod
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if pod is not None:
        normalized = normalize_pod(pod.spec, field="pod_spec", base_dir=base_dir)
        user_spec = normalized.spec
        labels.update(normalized.labels)
        annotations.update(normalized.annotations)
        labels.update(pod.labels)
        annotations.update(pod.annotations)
        primary = pod.primary_container
        validate_pod_spec(user_spec, primary=primary, field="pod_spec")
    else:
        user_spec = {"containers": [{"name": "primary"}]}
        primary = "primary"
    _check_labels(labels, what="labels", where=where)
    _check_labels(annotations, what="annotations", where=where)

    needs = requirements(user_spec, primary=primary, field="pod_spec") if pod else []
    spec, warnings, image_warnings = apply_primary_rules(
        user_spec,
        primary=primary,
        image=final_image,
        reference=reference,
        resources=resources,
        env=env,
    )
    restart = spec.get("restartPolicy")
    if restart not in (None, "Never"):
        warnings.append(
            f"pod_spec.restartPolicy {restart!r} is overwritten by 'Never' (a task's pod runs once)"
        )
    spec["restartPolicy"] = "Never"
    validate_pod_spec(spec, primary=primary, field="pod_spec")

    template: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "TaskTemplate",
        "name": task.name,
        "module": task.module,
        "reference": reference,
        "type": task.task_type,
        "style": task.style,
        "interface": task.interface.to_json(),
        "metadata": {
            "retries": task.retries,
            "timeoutSeconds": task.timeout,
            "interruptible": task.interruptible,
            "deprecated": task.deprecated,
            "cache": {"enabled": task.cache, "version": task.cache_version},
        },
        "image": final_image,
        "container": {"command": list(ENTRYPOINT_COMMAND), "args": entrypoint_args(reference)},
        "resources": resources,
        "env": env,
        "labels": dict(labels),
        "annotations": dict(annotations),
        "primaryContainerName": primary,
        "sidecarFailure": pod.sidecar_failure if pod else "ignore",
        "sidecarMode": pod.sidecar_mode if pod else None,
        "podSpec": spec,
    }
    version = hashlib.sha256(to_json(template).encode()).hexdigest()[:16]
    template["version"] = version

    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name_for(task.name),
            "labels": {**labels, LABEL_TASK: pod_name_for(task.name)},
            "annotations": {
                **annotations,
                ANNOTATION_PRIMARY: primary,
                ANNOTATION_VERSION: version,
            },
        },
        "spec": copy.deepcopy(spec),
    }
    checked = schema_validate_pod(manifest, cache_dir=schema_cache_dir)
    return CompiledTask(
        name=task.name,
        template=template,
        manifest=manifest,
        warnings=tuple(warnings),
        schema_checked=checked,
        image_warnings=tuple(image_warnings),
        requirements=tuple(needs),
    )
