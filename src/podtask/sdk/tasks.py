"""The seed's task decorators: ``from podtask.sdk.tasks import sidecar_task``."""

from podtask._authoring import inputs, outputs, python_task, sidecar_task

__all__ = ["inputs", "outputs", "python_task", "sidecar_task"]
