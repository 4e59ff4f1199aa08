"""Compile a ``Task`` into a task template and a Pod manifest (plain Kubernetes JSON dicts)."""

from podtask._compile.render import to_json, to_yaml
from podtask._compile.template import (
    DEFAULT_IMAGE,
    LABEL_TASK,
    CompiledTask,
    compile_task,
    pod_name_for,
)
from podtask._contract import (
    ANNOTATION_PRIMARY,
    ENTRYPOINT_COMMAND,
    INPUT_PLACEHOLDER,
    OUTPUT_PREFIX_PLACEHOLDER,
)

__all__ = [
    "ANNOTATION_PRIMARY",
    "DEFAULT_IMAGE",
    "ENTRYPOINT_COMMAND",
    "INPUT_PLACEHOLDER",
    "LABEL_TASK",
    "OUTPUT_PREFIX_PLACEHOLDER",
    "CompiledTask",
    "compile_task",
    "pod_name_for",
    "to_json",
    "to_yaml",
]
