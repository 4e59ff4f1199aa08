"""The workflow graph: nodes, where each input comes from, and the checks done at build time.

Pure data, no I/O: ``podtask._flow.build`` makes a ``Graph`` by calling the
workflow function with promises; the scheduler, ``compile`` and ``describe``
read it. Every problem a user can make (unknown input, type mismatch, cycle)
is found here, before anything runs, and names the node and the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podtask._authoring import Task, Variable
from podtask._errors import SpecError
from podtask._types import LiteralType

CONST = "const"
INPUT = "input"
NODE = "node"


@dataclass(frozen=True)
class Binding:
    """Where one input's value comes from: a constant, a workflow input, or a node output."""

    kind: str  # CONST | INPUT | NODE
    type: LiteralType
    value: Any = None  # the JSON literal, for CONST
    source: str = ""  # workflow input name (INPUT) or node id (NODE)
    output: str = ""  # output name, for NODE

    def to_json(self) -> dict[str, Any]:
        if self.kind == CONST:
            return {"const": self.value}
        if self.kind == INPUT:
            return {"input": self.source}
        return {"node": self.source, "output": self.output}


@dataclass(frozen=True)
class MapSpec:
    """A fan-out: which inputs to spread, how many elements run at once, how many may fail."""

    mapped: tuple[str, ...]
    concurrency: int | None = None
    min_success_ratio: float = 1.0


@dataclass(frozen=True)
class Node:
    id: str
    task: Task
    bindings: Mapping[str, Binding]
    outputs: tuple[Variable, ...]  # for a map node: lists of the task's output types
    map: MapSpec | None = None

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(sorted({b.source for b in self.bindings.values() if b.kind == NODE}))

    @property
    def reference(self) -> str:
        return f"{self.task.module}:{self.task.name}"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "task": self.reference,
            "kind": "map" if self.map else "task",
            "inputs": {k: b.to_json() for k, b in sorted(self.bindings.items())},
            "outputs": {v.name: v.type.to_json() for v in self.outputs},
            "upstream": list(self.upstream),
        }
        if self.map:
            doc["map"] = {
                "mapped": list(self.map.mapped),
                "concurrency": self.map.concurrency,
                "min_success_ratio": self.map.min_success_ratio,
            }
        if self.task.cache:
            doc["cache"] = {"version": self.task.cache_version}
        return doc


@dataclass(frozen=True)
class Graph:
    """A workflow's graph: its interface, its nodes in definition order, and its outputs."""

    name: str
    module: str
    inputs: tuple[Variable, ...]
    outputs: Mapping[str, Binding]
    nodes: Mapping[str, Node] = field(default_factory=dict)

    def downstream(self, node_id: str) -> list[str]:
        return [n.id for n in self.nodes.values() if node_id in n.upstream]

    def edges(self) -> list[dict[str, str]]:
        return [
            {"from": b.source, "output": b.output, "to": n.id, "input": name}
            for n in self.nodes.values()
            for name, b in sorted(n.bindings.items())
            if b.kind == NODE
        ]

    def to_json(self) -> dict[str, Any]:
        """The graph as one JSON document; key order is fixed so compiling is deterministic."""
        return {
            "workflow": f"{self.module}:{self.name}",
            "interface": {
                "inputs": {v.name: v.to_json() for v in self.inputs},
                "outputs": {k: b.type.to_json() for k, b in self.outputs.items()},
            },
            "nodes": {n.id: n.to_json() for n in self.nodes.values()},
            "edges": self.edges(),
            "outputs": {k: b.to_json() for k, b in self.outputs.items()},
        }


def check_acyclic(upstream: Mapping[str, Iterable[str]]) -> list[str]:
    """Nodes in an order where every node comes after its upstream; a cycle is a SpecError.

    Graphs built from promises cannot loop, but a graph read back from disk or
    assembled by hand can, and the scheduler would then wait forever.
    """
    deps = {n: set(u) for n, u in upstream.items()}
    for n, ups in deps.items():
        missing = sorted(ups - deps.keys())
        if missing:
            raise SpecError(f"node {n!r} depends on unknown node {missing[0]!r}", field=n)
    order: list[str] = []
    ready = [n for n, ups in deps.items() if not ups]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m, ups in deps.items():
            if n in ups:
                ups.discard(n)
                if not ups and m not in order and m not in ready:
                    ready.append(m)
    left = [n for n in deps if n not in order]
    if left:
        raise SpecError(
            f"the workflow has a cycle through nodes {', '.join(left)}",
            field=left[0],
            hint="a node cannot depend, directly or not, on its own output",
        )
    return order
