"""Turn a compiled Pod manifest into the manifest of one run.

The compiled manifest carries run-time placeholders (``{{.input}}``,
``{{.outputPrefix}}``) and a name taken from the task; a run names the pod
after the run id and labels it so that engines can find their pods again.
"""

from __future__ import annotations

import copy
from typing import Any

from podtask._compile import INPUT_PLACEHOLDER, OUTPUT_PREFIX_PLACEHOLDER

LABEL_RUN = "podtask.io/run-id"
LABEL_ATTEMPT = "podtask.io/attempt"


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
