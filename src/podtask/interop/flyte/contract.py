"""The primary container's command line when Flyte (propeller) runs a podtask task.

Propeller fills the ``{{.…}}`` placeholders at run time: where inputs.pb is,
where outputs.pb / error.pb go, where offloaded data (blobs, files,
directories) goes, and the checkpoint prefixes.  The entrypoint's ``flyte``
mode parses exactly these options (``podtask.entrypoint.flyte``), so both
sides read this one list.
"""

from __future__ import annotations

ENTRYPOINT_COMMAND = ["python3", "-m", "podtask.entrypoint"]
MODE = "flyte"  # first argument: the entrypoint speaks Flyte's data protocol

INPUTS = "{{.input}}"
OUTPUT_PREFIX = "{{.outputPrefix}}"
RAW_OUTPUT_PREFIX = "{{.rawOutputDataPrefix}}"
CHECKPOINT = "{{.checkpointOutputPrefix}}"
PREV_CHECKPOINT = "{{.prevCheckpointPrefix}}"

INPUTS_FILE = "inputs.pb"
OUTPUTS_FILE = "outputs.pb"
ERROR_FILE = "error.pb"


def entrypoint_args(reference: str) -> list[str]:
    """Args after :data:`ENTRYPOINT_COMMAND` for the task ``MODULE:NAME``."""
    return [
        MODE,
        "--task",
        reference,
        "--inputs",
        INPUTS,
        "--output-prefix",
        OUTPUT_PREFIX,
        "--raw-output-data-prefix",
        RAW_OUTPUT_PREFIX,
        "--checkpoint-path",
        CHECKPOINT,
        "--prev-checkpoint",
        PREV_CHECKPOINT,
    ]
