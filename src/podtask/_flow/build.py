"""Building a graph: the workflow function runs once with promises, as in flytekit.

While it runs, ``podtask._authoring.task.CALL_HOOK`` routes every task call to
a ``Builder``, which records a node and hands back promises of the node's
outputs. Promises have no value: using one in Python control flow is an error
that says so, instead of a graph that silently took one branch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from podtask._authoring import Task, Variable
from podtask._authoring.task import CALL_HOOK
from podtask._errors import SpecError
from podtask._flow.graph import CONST, INPUT, NODE, Binding, Graph, MapSpec, Node, check_acyclic
from podtask._types import LiteralType, Types, to_literal

if TYPE_CHECKING:
    from podtask._flow.workflow import Mapped, Workflow


class Promise:
    """A value that will exist once a node (or the workflow's caller) produces it."""

    __slots__ = ("output", "source", "type")

    def __init__(self, source: str | None, output: str, type: LiteralType) -> None:
        self.source = source  # node id, or None for a workflow input
        self.output = output
        self.type = type

    def binding(self) -> Binding:
        if self.source is None:
            return Binding(INPUT, self.type, source=self.output)
        return Binding(NODE, self.type, source=self.source, output=self.output)

    def __repr__(self) -> str:
        where = "input" if self.source is None else self.source
        return f"Promise({where}.{self.output}: {self.type})"

    def __bool__(self) -> bool:
        raise SpecError(
            f"{self!r} has no value while the workflow is being built",
            hint="a workflow's body only wires tasks together; decide inside a task",
        )


class NodeOutputs:
    """The promises of a node with several outputs: by name (``.out1``), index or unpacking."""

    def __init__(self, node_id: str, promises: Mapping[str, Promise]) -> None:
        self._node = node_id
        self._promises = dict(promises)

    def __getattr__(self, name: str) -> Promise:
        try:
            return self.__dict__["_promises"][name]  # type: ignore[no-any-return]
        except KeyError:
            names = ", ".join(self.__dict__["_promises"]) or "none"
            raise SpecError(
                f"node {self.__dict__['_node']!r} has no output {name!r}",
                field=f"{self.__dict__['_node']}.{name}",
                hint=f"outputs: {names}",
            ) from None

    def __getitem__(self, index: int) -> Promise:
        return list(self._promises.values())[index]

    def __iter__(self) -> Any:
        return iter(self._promises.values())

    def __len__(self) -> int:
        return len(self._promises)

    def __repr__(self) -> str:
        return f"NodeOutputs({self._node}: {', '.join(self._promises)})"


def outputs_of(node_id: str, outputs: tuple[Variable, ...]) -> Any:
    """What a call returns at build time: one promise, or all of them for several outputs."""
    promises = {v.name: Promise(node_id, v.name, v.type) for v in outputs}
    if len(promises) == 1:
        return next(iter(promises.values()))
    return NodeOutputs(node_id, promises)


class Builder:
    """Records the nodes of one workflow while its function runs with promises."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.prefix = ""

    # -- the hook ------------------------------------------------------------------
    def __call__(self, task: Task, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        return self.add(task, args, kwargs, spec=None)

    def add(
        self,
        task: Task,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        spec: tuple[int | None, float] | None,
    ) -> Any:
        node_id = self._new_id(task.name)
        inputs = task.interface.inputs
        if args:
            raise SpecError(
                f"node {node_id!r}: pass the inputs of {task.name} by name",
                field=node_id,
                hint=f"write {task.name}({', '.join(v.name + '=...' for v in inputs)})",
            )
        bindings: dict[str, Binding] = {}
        mapped: list[str] = []
        for name, value in kwargs.items():
            var = task.interface.input(name)
            if var is None:
                names = ", ".join(v.name for v in task.interface.inputs) or "none"
                raise SpecError(
                    f"node {node_id!r}: {task.name} has no input {name!r}",
                    field=f"{node_id}.{name}",
                    hint=f"inputs: {names}",
                )
            want = var.type
            if spec is not None and _is_spread(value, want):
                mapped.append(name)
                want = Types.List(want)
            bindings[name] = bind(value, want, where=f"{node_id}.{name}")
        for var in task.interface.inputs:
            if var.name not in bindings and not var.has_default:
                raise SpecError(
                    f"node {node_id!r}: input {var.name!r} of {task.name} is not given",
                    field=f"{node_id}.{var.name}",
                    hint=f"pass {var.name}=... ({var.type})",
                )
        outputs = task.interface.outputs
        map_spec = None
        if spec is not None:
            if not mapped:
                raise SpecError(
                    f"node {node_id!r}: podtask.map({task.name}) needs at least one list input",
                    field=node_id,
                    hint="pass a list (or a promise of one) whose elements fit an input",
                )
            map_spec = MapSpec(tuple(mapped), concurrency=spec[0], min_success_ratio=spec[1])
            outputs = tuple(Variable(v.name, Types.List(v.type)) for v in outputs)
        self.nodes[node_id] = Node(node_id, task, bindings, outputs, map_spec)
        return outputs_of(node_id, outputs)

    def _new_id(self, name: str) -> str:
        base = f"{self.prefix}{name}"
        if base not in self.nodes:
            return base
        n = 2
        while f"{base}-{n}" in self.nodes:
            n += 1
        return f"{base}-{n}"


def _is_spread(value: Any, element: LiteralType) -> bool:
    """True when ``value`` is a list of ``element`` values to fan out over, not one value."""
    if isinstance(value, Promise):
        return value.type == Types.List(element)
    if not isinstance(value, (list, tuple)):
        return False
    if element.kind != "list":
        return True
    return all(isinstance(v, (list, tuple, Promise)) for v in value)


def bind(value: Any, want: LiteralType, *, where: str) -> Binding:
    """The binding of one input; a type mismatch names the node, the input and the producer."""
    if isinstance(value, NodeOutputs):
        raise SpecError(
            f"node {where.split('.')[0]!r}: input {where.split('.', 1)[1]!r} got every "
            f"output of {value!r}",
            field=where,
            hint="pick one output: result.NAME",
        )
    if isinstance(value, Promise):
        if value.type != want:
            producer = "workflow input" if value.source is None else f"output of {value.source}"
            raise SpecError(
                f"type mismatch at {where}: expects {want}, but {producer} "
                f"{value.output!r} is {value.type}",
                field=where,
            )
        return value.binding()
    if isinstance(value, (list, tuple)) and any(isinstance(v, Promise) for v in value):
        raise SpecError(
            f"{where}: a list mixing promises is not supported",
            field=where,
            hint="return the list from a task, or use podtask.map",
        )
    try:
        literal = to_literal(value, want, name=where)
    except SpecError as exc:
        raise SpecError(f"type mismatch at {exc}", field=where) from exc
    return Binding(CONST, want, value=literal)


def build_graph(wf: Workflow) -> Graph:
    """Run the workflow function once with promises and check the graph it wires."""
    builder = Builder()
    promises = {v.name: Promise(None, v.name, v.type) for v in wf.interface.inputs}
    token = CALL_HOOK.set(builder)
    try:
        result = wf.fn(**promises)
    finally:
        CALL_HOOK.reset(token)
    outputs = bind_outputs(wf, result)
    check_acyclic({n.id: n.upstream for n in builder.nodes.values()})
    return Graph(
        name=wf.name,
        module=wf.module,
        inputs=wf.interface.inputs,
        outputs=outputs,
        nodes=builder.nodes,
    )


def inline(builder: Builder, wf: Workflow, kwargs: Mapping[str, Any]) -> Any:
    """A sub-workflow called in a workflow: its nodes join the caller's, prefixed by its name."""
    known = {v.name for v in wf.interface.inputs}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise SpecError(
            f"sub-workflow {wf.name} has no input {unknown[0]!r}",
            field=f"{wf.name}.{unknown[0]}",
            hint=f"inputs: {', '.join(sorted(known)) or 'none'}",
        )
    args: dict[str, Any] = {}
    for var in wf.interface.inputs:
        if var.name in kwargs:
            value = kwargs[var.name]
            if isinstance(value, Promise):
                bind(value, var.type, where=f"{wf.name}.{var.name}")
            args[var.name] = value
        elif not var.has_default:
            raise SpecError(
                f"input {var.name!r} of sub-workflow {wf.name} is not given",
                field=f"{wf.name}.{var.name}",
            )
    outer = builder.prefix
    builder.prefix = builder._new_id(wf.name) + "."
    try:
        result = wf.fn(**args)
    finally:
        builder.prefix = outer
    bind_outputs(wf, result)  # the sub-workflow's own return types are checked too
    return result


def bind_outputs(wf: Workflow, result: Any) -> dict[str, Binding]:
    outs = wf.interface.outputs
    if not outs:
        if result is not None:
            raise SpecError(
                f"workflow {wf.name} returns a value but declares no return type",
                field=f"{wf.name}.return",
                hint="annotate the return type, e.g. -> float",
            )
        return {}
    values: list[Any]
    if len(outs) == 1 and not isinstance(result, (tuple, NodeOutputs)):
        values = [result]
    elif isinstance(result, (tuple, list, NodeOutputs)) and len(result) == len(outs):
        values = list(result)
    else:
        raise SpecError(
            f"workflow {wf.name} must return {len(outs)} values, got {result!r}",
            field=f"{wf.name}.return",
        )
    return {
        v.name: bind(value, v.type, where=f"{wf.name}.return.{v.name}")
        for v, value in zip(outs, values, strict=True)
    }


def add_map(
    builder: Builder, mapped: Mapped, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Any:
    return builder.add(
        mapped.task, args, kwargs, spec=(mapped.concurrency, mapped.min_success_ratio)
    )
