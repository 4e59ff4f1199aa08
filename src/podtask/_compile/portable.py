"""What each engine will need of a compiled pod, checked before any engine starts.

The local engine runs each container's command on this machine and uses no
image, so a sidecar without ``image`` runs there; podman and a cluster refuse
it (the API server answers ``Required value``). A task that works locally
should hear early, in the user's own field names, what a cluster will refuse:
on the local engine these are warnings, on engines with images they are errors
raised before anything starts (``podtask compile --engine kubernetes`` or
``--strict`` checks for every engine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Engines that run containers from images; the others ignore ``image``.
IMAGE_ENGINES = frozenset({"podman", "kubernetes"})
ALL_ENGINES = ("local", "podman", "kubernetes")


@dataclass(frozen=True)
class Requirement:
    """Something ``engines`` need that the pod spec lacks, at ``field`` of the user's spec."""

    field: str
    message: str
    hint: str
    engines: frozenset[str]


def uses_images(engine: str | None) -> bool:
    """Whether warnings about images concern ``engine`` (None: any engine, say so)."""
    return engine is None or engine in IMAGE_ENGINES


def requirements(spec: Mapping[str, Any], *, primary: str, field: str) -> list[Requirement]:
    """Fields some engine needs and ``spec`` lacks; the primary's image is the task image."""
    found: list[Requirement] = []
    for kind in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(kind) or []):
            if not isinstance(container, Mapping) or container.get("name") == primary:
                continue
            image = container.get("image")
            if isinstance(image, str) and image.strip():
                continue
            found.append(
                Requirement(
                    field=f"{field}.{kind}[{index}].image",
                    message=f"container {container.get('name')!r} has no image",
                    hint="set its image; podman and kubernetes run containers from images, "
                    "only the local engine runs the command on this host",
                    engines=IMAGE_ENGINES,
                )
            )
    return found
