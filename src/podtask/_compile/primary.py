"""The registration rules for the primary container (the seed's, made explicit).

| field          | rule                                                           |
|----------------|----------------------------------------------------------------|
| image          | overwritten by the task image                                  |
| command, args  | overwritten: run ``podtask.entrypoint`` with run-time placeholders |
| resources      | replaced by the task's when it declares any, else kept         |
| env            | task environment merged over the container's own; task wins    |
| anything else  | kept (volumeMounts, ports, probes, securityContext, ...)       |

Every field the user set that gets overwritten is reported as a warning, so a
value that silently vanished (flyte#3059) cannot happen here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from podtask._contract import (
    ENTRYPOINT_COMMAND,
    FLAG_INPUTS,
    FLAG_OUTPUT_PREFIX,
    FLAG_TASK,
    INPUT_PLACEHOLDER,
    OUTPUT_PREFIX_PLACEHOLDER,
)


def entrypoint_args(reference: str) -> list[str]:
    return [
        FLAG_TASK,
        reference,
        FLAG_INPUTS,
        INPUT_PLACEHOLDER,
        FLAG_OUTPUT_PREFIX,
        OUTPUT_PREFIX_PLACEHOLDER,
    ]


def apply_primary_rules(
    spec: Mapping[str, Any],
    *,
    primary: str,
    image: str,
    reference: str,
    resources: Mapping[str, Mapping[str, str]],
    env: Mapping[str, str],
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Return a new pod spec with the primary container rewritten, the warnings, and
    those of the warnings that concern the image (engines without images skip them)."""
    out = copy.deepcopy(dict(spec))
    containers: list[dict[str, Any]] = out.setdefault("containers", [])
    found = next((c for c in containers if c.get("name") == primary), None)
    warnings: list[str] = []
    if found is None:
        found = {"name": primary}
        containers.append(found)
    where = f"primary container {primary!r}"

    def overwrite(key: str, value: Any, why: str) -> None:
        old = found.get(key)
        if old not in (None, [], {}, "") and old != value:
            warnings.append(f"{where}: {key} {old!r} is overwritten by {why}")
        found[key] = value

    overwrite("image", image, "the task image")
    image_warnings = list(warnings)
    overwrite("command", list(ENTRYPOINT_COMMAND), "the podtask entrypoint")
    overwrite("args", entrypoint_args(reference), "the podtask entrypoint")
    if resources:
        old = found.get("resources")
        if old and old != resources:
            warnings.append(f"{where}: resources {old!r} are replaced by the task's resources")
        found["resources"] = copy.deepcopy(dict(resources))
    if env:
        merged: list[dict[str, Any]] = [dict(e) for e in found.get("env", [])]
        index = {e.get("name"): i for i, e in enumerate(merged)}
        for name, value in env.items():
            if name in index:
                old_entry = merged[index[name]]
                if old_entry != {"name": name, "value": value}:
                    # The variable's name only: its values may be secrets, and warnings
                    # reach terminals and CI logs.
                    warnings.append(f"{where}: env {name} is overridden by the task's environment")
                merged[index[name]] = {"name": name, "value": value}
            else:
                index[name] = len(merged)
                merged.append({"name": name, "value": value})
        found["env"] = merged
    return out, warnings, image_warnings
