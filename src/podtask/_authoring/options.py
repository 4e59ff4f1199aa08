"""User-facing option classes of the modern API: ``Pod`` and ``Resources``.

They are small keyword-only frozen dataclasses: they hold what the user wrote,
unvalidated; ``podtask._compile`` validates and serializes them.  Keeping them
separate from the serialized template means the user's objects are never
mutated and the template is built in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Quantity = str | int | float

SIDECAR_FAILURE_POLICIES = ("ignore", "fail")
SIDECAR_MODES = ("native", "managed")


@dataclass(kw_only=True, frozen=True)
class Resources:
    """Requests and limits for the primary container, in Kubernetes quantities.

    ``gpu`` becomes the ``nvidia.com/gpu`` resource (the seed emitted a bare
    ``gpu`` key that Kubernetes rejects: flyte#180); ``storage`` becomes
    ``ephemeral-storage``.
    """

    cpu: Quantity | None = None
    memory: Quantity | None = None
    gpu: Quantity | None = None
    storage: Quantity | None = None
    cpu_limit: Quantity | None = None
    memory_limit: Quantity | None = None
    gpu_limit: Quantity | None = None
    storage_limit: Quantity | None = None

    def by_option(self) -> dict[str, Quantity]:
        """The set fields, keyed by option name, so errors can name what the user wrote."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(kw_only=True, frozen=True)
class Pod:
    """The pod a task runs in: a pod spec from anywhere plus the primary container's name.

    ``spec`` may be a k8s-proto ``PodSpec``, a ``kubernetes.client.V1PodSpec``,
    a dict in Kubernetes JSON form, or a path to a YAML file (relative paths
    are resolved against the task's source file).  ``sidecar_failure`` says
    whether a sidecar that crashes before the primary ends fails the task.
    """

    spec: Any = None
    primary_container: str = "primary"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    sidecar_failure: str = "ignore"
    sidecar_mode: str | None = None
