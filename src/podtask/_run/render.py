"""Turn a compiled Pod manifest into the manifest of one run.

The compiled manifest carries run-time placeholders (``{{.input}}``,
``{{.outputPrefix}}``) and a name taken from the task; a run names the pod
after the run id and labels it so that engines can find their pods again.
"""

from __future__ import annotations

import copy
from typing import Any

from podtask._contract import (
    ENV_SIDECAR_GRACE,
    ENV_SIDECAR_MODE,
    INPUT_PLACEHOLDER,
    LABEL_ATTEMPT,
    LABEL_RUN,
    OUTPUT_PREFIX_PLACEHOLDER,
)
from podtask._errors import SpecError


def render_manifest(
    manifest: dict[str, Any],
    *,
    run_id: str,
    attempt: int,
    inputs: str,
    output_prefix: str,
    primary: str,
) -> dict[str, Any]:
    out = copy.deepcopy(manifest)
    meta = out.setdefault("metadata", {})
    meta["name"] = run_id if attempt == 1 else f"{run_id[: 63 - 3 - len(str(attempt))]}-a{attempt}"
    meta.setdefault("labels", {})[LABEL_RUN] = run_id
    meta["labels"][LABEL_ATTEMPT] = str(attempt)
    for c in out.get("spec", {}).get("containers", []):
        if c.get("name") != primary:
            continue
        c["args"] = [
            a.replace(INPUT_PLACEHOLDER, inputs).replace(OUTPUT_PREFIX_PLACEHOLDER, output_prefix)
            for a in c.get("args", [])
        ]
    return out


SIDECAR_MODE_ENV = ENV_SIDECAR_MODE  # re-exported: other modules still use these names
SIDECAR_GRACE_ENV = ENV_SIDECAR_GRACE


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
        for c in containers:
            if c.get("name") != primary:
                continue
            env = [
                e
                for e in c.get("env", [])
                if e.get("name") not in (SIDECAR_MODE_ENV, SIDECAR_GRACE_ENV)
            ]
            env += [
                {"name": SIDECAR_MODE_ENV, "value": "managed"},
                {"name": SIDECAR_GRACE_ENV, "value": f"{grace:g}"},
            ]
            c["env"] = env
    else:
        raise SpecError(
            f"unknown sidecar mode {mode!r}", field="sidecar_mode", hint="native or managed"
        )
    return out
