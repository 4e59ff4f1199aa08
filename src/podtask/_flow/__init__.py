"""Workflows: sidecar tasks composed into a typed graph (building is pure; running is over _run)."""

from podtask._flow.graph import Binding, Graph, MapSpec, Node, check_acyclic
from podtask._flow.workflow import Mapped, Workflow, map, workflow

__all__ = [
    "Binding",
    "Graph",
    "MapSpec",
    "Mapped",
    "Node",
    "Workflow",
    "check_acyclic",
    "map",
    "workflow",
]
