"""Building workflow graphs: pure, no engine. Every user mistake is a SpecError naming the node."""

from __future__ import annotations

from typing import NamedTuple

import pytest

import podtask
from podtask import SpecError
from podtask._flow import check_acyclic
from podtask.sdk.tasks import inputs, outputs, python_task
from podtask.sdk.types import Types
from tests.flow import flows


@podtask.task
def produce(n: int) -> str:
    return str(n)


@podtask.task
def consume(v: int) -> int:
    return v


@podtask.task
def double(v: int) -> int:
    return 2 * v


@inputs(word=Types.String)
@outputs(out1=Types.String, out2=Types.Integer)
@python_task
def legacy_shout(wf_params, word, out1, out2):  # type: ignore[no-untyped-def]
    out1.set(word.upper())
    out2.set(len(word))


class Two(NamedTuple):
    label: str
    size: int


def test_diamond_graph_has_the_edges_and_upstreams() -> None:
    g = flows.diamond.graph()
    assert list(g.nodes) == ["a", "b", "c", "d"]
    assert g.nodes["d"].upstream == ("b", "c")
    assert g.nodes["b"].upstream == ("a",) and g.nodes["c"].upstream == ("a",)
    edges = {(e["from"], e["to"], e["input"]) for e in g.edges()}
    assert edges == {("a", "b", "v"), ("a", "c", "v"), ("b", "d", "left"), ("c", "d", "right")}
    assert g.to_json()["outputs"] == {"o0": {"node": "d", "output": "o0"}}


def test_map_node_spreads_the_list_input_and_outputs_a_list() -> None:
    node = flows.squares.graph().nodes["square"]
    assert node.map is not None and node.map.mapped == ("n",) and node.map.concurrency == 10
    assert node.outputs[0].type == Types.List(Types.Integer)


def test_type_mismatch_names_the_node_and_input() -> None:
    @podtask.workflow
    def wf(n: int) -> int:
        return consume(v=produce(n=n))

    with pytest.raises(SpecError) as exc:
        wf.graph()
    assert exc.value.field == "consume.v"
    assert "expects Integer" in str(exc.value) and "String" in str(exc.value)


def test_unknown_input_names_the_node_and_lists_the_inputs() -> None:
    @podtask.workflow
    def wf(n: int) -> int:
        return consume(value=n)

    with pytest.raises(SpecError) as exc:
        wf.graph()
    assert exc.value.field == "consume.value"
    assert "inputs: v" in str(exc.value)


def test_missing_input_and_bad_constant_are_errors() -> None:
    @podtask.workflow
    def missing() -> int:
        return consume()

    @podtask.workflow
    def bad_constant() -> int:
        return consume(v="three")

    with pytest.raises(SpecError, match="input 'v' of consume is not given"):
        missing.graph()
    with pytest.raises(SpecError) as exc:
        bad_constant.graph()
    assert exc.value.field == "consume.v"


def test_a_cycle_is_an_error_naming_its_nodes() -> None:
    with pytest.raises(SpecError) as exc:
        check_acyclic({"a": [], "b": ["a", "d"], "c": ["b"], "d": ["c"]})
    assert "cycle" in str(exc.value) and "b, c, d" in str(exc.value)
    assert check_acyclic({"x": [], "y": ["x"], "z": ["x", "y"]}) == ["x", "y", "z"]


def test_promises_refuse_python_control_flow() -> None:
    @podtask.workflow
    def wf(n: int) -> int:
        v = double(v=n)
        return v if v else consume(v=n)

    with pytest.raises(SpecError, match="has no value while the workflow is being built"):
        wf.graph()


def test_return_type_is_checked() -> None:
    @podtask.workflow
    def wf(n: int) -> str:
        return double(v=n)

    with pytest.raises(SpecError) as exc:
        wf.graph()
    assert exc.value.field == "wf.return.o0"


def test_repeated_task_gets_distinct_node_ids() -> None:
    @podtask.workflow
    def wf(n: int) -> int:
        return double(v=double(v=double(v=n)))

    assert list(wf.graph().nodes) == ["double", "double-2", "double-3"]


def test_sub_workflow_nodes_are_inlined_with_a_prefix() -> None:
    @podtask.workflow
    def inner(n: int) -> int:
        return double(v=n)

    @podtask.workflow
    def outer(n: int) -> int:
        return consume(v=inner(n=double(v=n)))

    g = outer.graph()
    assert list(g.nodes) == ["double", "inner.double", "consume"]
    assert g.nodes["inner.double"].upstream == ("double",)
    assert outer(n=3) == 12  # and as plain Python


def test_legacy_tasks_are_nodes_with_named_outputs() -> None:
    @podtask.workflow
    def wf(word: str) -> Two:
        r = legacy_shout(word=word)
        return r.out1, consume(v=r.out2)

    g = wf.graph()
    assert g.nodes["consume"].bindings["v"].output == "out2"
    assert wf(word="hey") == ("HEY", 3)  # plain Python: legacy outputs come back as values


def test_workflows_run_as_plain_python() -> None:
    assert flows.squares(count=5) == 0 + 1 + 4 + 9 + 16
    assert podtask.map(double)(v=[1, 2, 3]) == [2, 4, 6]
    shouted = podtask.map(legacy_shout)(word=["ab", "cde"])  # seed style too, outside a workflow
    assert shouted == (["AB", "CDE"], [2, 3])


def test_map_needs_a_list_and_valid_options() -> None:
    @podtask.workflow
    def wf(n: int) -> list[int]:
        return podtask.map(double)(v=n)

    with pytest.raises(SpecError, match="needs at least one list input"):
        wf.graph()
    with pytest.raises(SpecError) as exc:
        podtask.map(double, min_success_ratio=1.5)
    assert exc.value.field == "map(double).min_success_ratio"
    with pytest.raises(SpecError):
        podtask.map(double, concurrency=0)


def test_positional_inputs_are_refused_with_a_hint() -> None:
    @podtask.workflow
    def wf(n: int) -> int:
        return double(n)

    with pytest.raises(SpecError, match=r"write double\(v=...\)"):
        wf.graph()


def test_graph_json_is_deterministic() -> None:
    from podtask._flow.execute import workflows_in
    from tests.conftest import EXAMPLES

    _, found = workflows_in(str(EXAMPLES / "workflow_example.py"))
    doc = found["nightly"].graph().to_json()
    assert doc == found["nightly"].graph().to_json()
    assert doc["nodes"]["clean"]["kind"] == "map"
    assert doc["nodes"]["fetch"]["cache"] == {"version": "1"}
