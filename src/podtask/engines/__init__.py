"""Engines run one attempt's pod: ``local`` (default), and more as they are built.

Each engine module is imported only when chosen, so an engine's dependencies
(the podman binary, the kubernetes client) cost nothing to the others.  This package
itself imports nothing heavy: the local engine's pod supervisor starts from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podtask._run import Engine

ENGINES = ("local", "podman", "kubernetes")


def get_engine(name: str) -> Engine:
    if name == "local":
        from podtask.engines.local.engine import LocalEngine

        return LocalEngine()
    if name == "kubernetes":
        from podtask.engines.kubernetes.engine import KubernetesEngine

        return KubernetesEngine()
    if name == "podman":
        from podtask.engines.podman.engine import PodmanEngine

        return PodmanEngine()
    from podtask._errors import SpecError

    raise SpecError(
        f"unknown engine {name!r}", field="--engine", hint=f"choose one of: {', '.join(ENGINES)}"
    )
