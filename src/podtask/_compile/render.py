"""The manifest of one attempt, shaped once, and deterministic bytes for it.

``attempt_manifest`` turns the compiled Pod into the pod of one attempt:
placeholders replaced by the run's paths or URLs, named after the run and
labelled so engines find their pods again, the primary's command, the
restartPolicy and the sidecar mode set from what the engine declares it
does (``Capabilities``).  Engines add only where the pod goes (namespace,
volumes of their transport, bootstrap env); they never reshape it again.
Keys are sorted and formatting is fixed, so output can be committed as golden
files and diffed (flytekit's serialized output changes from run to run).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from podtask._contract import (
    ENTRYPOINT_COMMAND,
    ENV_KUBELET_STOPS,
    ENV_SIDECAR_GRACE,
    ENV_SIDECAR_MODE,
    INPUT_PLACEHOLDER,
    LABEL_ATTEMPT,
    LABEL_RUN,
    OUTPUT_PREFIX_PLACEHOLDER,
    SIDECAR_MODES,
)
from podtask._errors import SpecError


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What an engine's runtime does with a pod, declared by the engine, read by one shaper.

    ``finishes_alone``: the pod must end with nobody watching (a cluster), so
    a sidecar mode is always chosen: ``native`` where the runtime has native
    sidecars and no sidecar may be a one-shot, else ``managed``.
    ``entrypoint`` is the primary's command.  ``io``: where the primary reads
    its inputs and writes its outputs when the pod does not see this
    machine's files, given the run id and the pod's name (storage URLs, or
    paths inside the pod); ``None``: the primary's argv carries the run's paths.
    """

    finishes_alone: bool = False
    native_sidecars: bool = True
    entrypoint: tuple[str, ...] = ENTRYPOINT_COMMAND
    io: Callable[[str, str], tuple[str, str]] | None = None
    restart_policy: str = "Never"


def sidecar_mode_for(
    manifest: dict[str, Any], *, primary: str, mode: str | None, caps: Capabilities
) -> str | None:
    """The attempt's sidecar mode: the one asked for, else what the engine needs (or none)."""
    if mode is not None or not caps.finishes_alone:
        return mode
    return "native" if caps.native_sidecars and not may_finish(manifest, primary) else "managed"


def may_finish(manifest: dict[str, Any], primary: str) -> list[str]:
    """The sidecars that may be one-shot: neither a port nor a probe says they serve.

    A native sidecar (an init container with ``restartPolicy: Always``) that
    exits is started again by the kubelet, so a sidecar like the seed's
    ``secondary`` (write a file, exit 0) would run twice there and once on the
    other engines.  The automatic mode therefore picks ``managed`` for a pod
    with such a sidecar, where every container runs once.
    """
    spec = manifest.get("spec") or {}
    sidecars = [c for c in spec.get("containers") or [] if c.get("name") != primary]
    sidecars += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    probes = ("startupProbe", "readinessProbe", "livenessProbe")
    return [
        str(c.get("name"))
        for c in sidecars
        if not c.get("ports") and not any(c.get(p) for p in probes)
    ]


def to_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as blocks (readable scripts in args)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=100
    )


def attempt_manifest(
    manifest: dict[str, Any],
    *,
    run_id: str,
    attempt: int,
    inputs: str,
    output_prefix: str,
    primary: str,
    sidecar_mode: str | None,
    grace: float,
    caps: Capabilities,
) -> dict[str, Any]:
    """The pod of one attempt, from the compiled manifest: the one place it is shaped.

    Named after the run (``-aN`` from the second attempt), labelled with the
    run id and attempt, the primary started by the engine's entrypoint with
    its placeholders replaced by the run's paths (or ``caps.io``'s), the
    engine's restartPolicy, then the sidecar mode (``sidecar_mode_for``) applied.
    """
    out = copy.deepcopy(manifest)
    out.setdefault("spec", {})["restartPolicy"] = caps.restart_policy
    meta = out.setdefault("metadata", {})
    meta["name"] = run_id if attempt == 1 else f"{run_id[: 63 - 3 - len(str(attempt))]}-a{attempt}"
    if caps.io is not None:
        inputs, output_prefix = caps.io(run_id, meta["name"])
    meta.setdefault("labels", {})[LABEL_RUN] = run_id
    meta["labels"][LABEL_ATTEMPT] = str(attempt)
    for c in out.get("spec", {}).get("containers", []):
        if c.get("name") == primary:
            c["command"] = list(caps.entrypoint)
            c["args"] = [
                a.replace(INPUT_PLACEHOLDER, inputs).replace(
                    OUTPUT_PREFIX_PLACEHOLDER, output_prefix
                )
                for a in c.get("args", [])
            ]
    return apply_sidecar_mode(out, primary=primary, mode=sidecar_mode, grace=grace)


def apply_sidecar_mode(
    manifest: dict[str, Any], *, primary: str, mode: str | None, grace: float
) -> dict[str, Any]:
    """Make the pod finish on its own when the primary ends, without any client watching.

    ``native``: every container but the primary becomes an init container with
    ``restartPolicy: Always`` (a Kubernetes native sidecar, 1.29+): the kubelet
    starts them before the primary and stops them, in reverse order, once the
    primary has exited.  ``managed`` (older clusters): the pod shares one PID
    namespace and the primary's entrypoint, once the task is done and its
    outputs are written, stops the other processes itself (SIGTERM, ``grace``
    seconds, SIGKILL).  ``None`` leaves the pod as compiled: the engine stops
    the sidecars, which needs podtask to be there at the end.
    """
    if mode is None:
        return manifest
    out = copy.deepcopy(manifest)
    spec = out.setdefault("spec", {})
    containers = spec.get("containers", [])
    if mode == "native":
        sidecars = [c for c in containers if c.get("name") != primary]
        spec["containers"] = [c for c in containers if c.get("name") == primary]
        if sidecars:
            spec["initContainers"] = [
                *spec.get("initContainers", []),
                *({**c, "restartPolicy": "Always"} for c in sidecars),
            ]
    elif mode == "managed":
        spec["shareProcessNamespace"] = True
        for c in spec.get("initContainers", []):
            if c.get("restartPolicy") == "Always":  # a native sidecar: the kubelet's to stop
                env = [e for e in c.get("env", []) if e.get("name") != ENV_KUBELET_STOPS]
                c["env"] = [*env, {"name": ENV_KUBELET_STOPS, "value": "1"}]
        for c in containers:
            if c.get("name") != primary:
                continue
            env = [
                e
                for e in c.get("env", [])
                if e.get("name") not in (ENV_SIDECAR_MODE, ENV_SIDECAR_GRACE)
            ]
            env += [
                {"name": ENV_SIDECAR_MODE, "value": "managed"},
                {"name": ENV_SIDECAR_GRACE, "value": f"{grace:g}"},
            ]
            c["env"] = env
    else:
        raise SpecError(
            f"unknown sidecar mode {mode!r}", field="sidecar_mode", hint=" or ".join(SIDECAR_MODES)
        )
    return out
