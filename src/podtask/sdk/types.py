"""The seed's type namespace: ``from podtask.sdk.types import Types``."""

from podtask._types import Types

__all__ = ["Types"]
