"""Strict, offline check of a whole Pod manifest against the real Kubernetes schema.

``kubernetes-validate`` bundles the OpenAPI-derived JSON schemas of each
Kubernetes release, so a manifest can be checked with no API server. Strict
mode is the point: without it an unknown (misspelt) field passes silently
and is dropped by the server. The package is optional; without it only the
field names are checked (``fields``), and the caller is told by the return value.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from podtask._errors import SpecError

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")


def _cache_key(manifest: dict[str, Any], k8s_version: str) -> str | None:
    """A key for one (manifest, schema version, validator install); None if not installed.

    Found without importing the validator (its import is most of its cost),
    from where it is installed and when that file last changed.
    """
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or spec.origin is None:
        return None
    try:
        stamp = os.stat(spec.origin).st_mtime_ns
    except OSError:
        return None
    text = json.dumps([manifest, k8s_version, spec.origin, stamp], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def schema_validate_pod(
    manifest: dict[str, Any], *, k8s_version: str = "1.30.0", cache_dir: Path | None = None
) -> bool:
    """Validate ``manifest`` (apiVersion v1, kind Pod); False if kubernetes-validate is missing.

    Raises SpecError for the first schema violation, with ``field`` the JSON
    path of the offending element (``spec.containers[0].bogus``).  With
    ``cache_dir``, a manifest that passed once is not validated again: the
    check is deterministic, and skipping it saves ~0.2 s of import per run.
    """
    key = _cache_key(manifest, k8s_version) if cache_dir is not None else None
    if key is not None and cache_dir is not None and (cache_dir / key).exists():
        return True
    try:
        import kubernetes_validate
        from kubernetes_validate import utils as kv_utils
    except ImportError:  # names only: a misspelt field is refused all the same
        from podtask._podspec.fields import check_field_names

        check_field_names(manifest.get("spec"))
        return False
    if manifest.get("apiVersion") != "v1":
        raise SpecError(
            f"apiVersion must be 'v1', not {manifest.get('apiVersion')!r}", field="apiVersion"
        )
    if manifest.get("kind") != "Pod":
        raise SpecError(f"kind must be 'Pod', not {manifest.get('kind')!r}", field="kind")
    version = _supported_version(k8s_version, kv_utils.all_versions())
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        field, message, hint = _describe(exc)
        raise SpecError(message, field=field or None, hint=hint) from exc
    if key is not None and cache_dir is not None:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            (cache_dir / key).touch()
        except OSError:
            pass  # a cache that cannot be written only costs time
    return True


def _supported_version(requested: str, available: Iterable[str]) -> str:
    """Map "1.30.0" / "1.30" / "v1.30" to a bundled "major.minor", or raise.

    Checked here because kubernetes-validate compares versions as strings and
    fails with an IndexError for versions older than its oldest schema.
    """
    known = sorted(
        {tuple(int(part) for part in v.split(".")[:2]) for v in available if _VERSION.fullmatch(v)}
    )
    match = _VERSION.fullmatch(requested)
    span = f"{known[0][0]}.{known[0][1]} to {known[-1][0]}.{known[-1][1]}" if known else "none"
    if match is None or (int(match[1]), int(match[2])) not in known:
        raise SpecError(
            f"Kubernetes version {requested!r} has no bundled schema",
            field="k8s_version",
            hint=f"use a version from {span}, e.g. '1.30.0'",
        )
    return f"{match[1]}.{match[2]}"


def json_path(parts: Iterable[object]) -> str:
    """``["spec", "containers", 0, "name"]`` -> ``spec.containers[0].name``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(exc: Any) -> tuple[str, str, str | None]:
    """Turn a jsonschema error into (field, message, hint) a user can act on.

    jsonschema reports an unknown or missing key at the *object* holding it;
    the field is moved down to the key itself so it names what to fix.
    """
    path = json_path(exc.path)
    instance = exc.instance
    validator = exc.validator
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(exc.schema.get("properties", {}))
        unknown = [key for key in instance if key not in allowed]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "remove it"
            return json_path([*exc.path, key]), f"unknown field {key!r}", hint
    if validator == "required" and isinstance(instance, dict):
        missing = [key for key in exc.validator_value if key not in instance]
        if missing:
            return json_path([*exc.path, missing[0]]), "required field is missing", None
    if validator in ("oneOf", "anyOf") and exc.context:
        expected = sorted(
            {str(sub.validator_value) for sub in exc.context if sub.validator == "type"}
        )
        if expected:
            return (
                path,
                f"{instance!r} is not one of the accepted types ({', '.join(expected)})",
                None,
            )
    return path, str(exc.message), None


__all__ = ["json_path", "schema_validate_pod"]
