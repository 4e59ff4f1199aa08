"""Run a workflow graph: independent nodes at once, every state change on disk first.

The scheduler keeps no state that matters only in memory: each node's phase,
child run id and outputs are written to ``flows.db`` before anything depends
on them, so ``resume`` after a ``kill -9`` rebuilds the same picture from the
records (finished nodes are kept, in-flight cluster runs re-attached, the
rest started again).

Failure semantics: a node that fails (after its task's own retries) stops the
workflow from starting anything new; nodes already running finish and are
recorded. With ``continue_on_failure`` every node whose inputs exist runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from podtask._errors import PodtaskError, SpecError, TaskFailed
from podtask._flow.cache import cache_key
from podtask._flow.graph import CONST, INPUT, Binding, Graph, Node
from podtask._flow.node_run import NodeRunSettings, attach_node, run_node
from podtask._run.engine import SurvivingEngine
from podtask._run.result import RunResult
from podtask._storage import TERMINAL_PHASES, RunStore, dumps_json
from podtask._storage.flows import CacheEntry, FlowStore, NodeRecord
from podtask._types import from_literal

PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
ABORTED = "ABORTED"
CACHE_HIT = "CacheHit"
DONE = frozenset({SUCCEEDED, FAILED, SKIPPED, ABORTED})


class NodeFailed(TaskFailed):
    """A node of the workflow failed (or it was stopped); carries the node's record."""

    def __init__(self, record: NodeRecord | None) -> None:
        self.record = record
        self.error: dict[str, Any] | None = (
            json.loads(record.error_json) if record and record.error_json else None
        )
        if record is None:
            super().__init__("the workflow was interrupted", reason="Aborted")
        else:
            what = f"{record.reason}: {record.message}" if record.message else record.reason
            super().__init__(f"node {record.node_id!r} failed ({what})", reason=record.reason or "")


@dataclass(frozen=True)
class FlowOptions:
    parallel: int
    continue_on_failure: bool = False
    no_cache: bool = False
    overwrite_cache: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "parallel": self.parallel,
            "continue_on_failure": self.continue_on_failure,
            "no_cache": self.no_cache,
            "overwrite_cache": self.overwrite_cache,
        }


@dataclass(frozen=True)
class _Item:
    """One unit of work for the pool: a task node, or one element of a map node."""

    item_id: str
    node: Node
    literals: dict[str, Any]
    index: int | None = None
    attach_run: str | None = None  # resume: follow this existing run instead of starting one


class Scheduler:
    def __init__(
        self,
        graph: Graph,
        run_id: str,
        store: FlowStore,
        settings: NodeRunSettings,
        options: FlowOptions,
        *,
        on_change: Callable[[NodeRecord], None] = lambda _r: None,
        on_node_start: Callable[[str, str], Callable[[], None]] = lambda _n, _r: lambda: None,
    ) -> None:
        self.graph = graph
        self.run_id = run_id
        self.store = store
        self.settings = settings
        self.options = options
        self.on_change = on_change
        self.on_node_start = on_node_start  # (item id, child run id) -> stop-following callback
        self.state: dict[str, NodeRecord] = {r.node_id: r for r in store.nodes(run_id)}
        self.inputs: dict[str, Any] = {}
        self.stopping = False
        self.attaching: set[str] = set()
        self.survives = isinstance(settings.engine(), SurvivingEngine)

    # -- records --------------------------------------------------------------------
    def _set(self, record: NodeRecord) -> None:
        self.store.set_node(record)  # disk first
        self.state[record.node_id] = record
        self.on_change(record)

    def _phase(self, node_id: str) -> str:
        r = self.state.get(node_id)
        return r.phase if r else PENDING

    def outputs_of(self, node_id: str) -> dict[str, Any]:
        r = self.state[node_id]
        return dict(json.loads(r.outputs_json or "{}"))

    def resolve(self, binding: Binding) -> Any:
        if binding.kind == CONST:
            return binding.value
        if binding.kind == INPUT:
            return self.inputs[binding.source]
        return self.outputs_of(binding.source)[binding.output]

    # -- the loop -------------------------------------------------------------------
    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Run (or resume) every node; returns the workflow's output literals, or raises."""
        self.inputs = dict(inputs)
        queue: list[_Item] = self._recover()
        running: dict[Future[tuple[_Item, RunResult | PodtaskError]], _Item] = {}
        per_map: dict[str, int] = {}
        with ThreadPoolExecutor(
            max_workers=self.options.parallel, thread_name_prefix="node"
        ) as pool:
            while True:
                if not self.stopping and not self.settings.cancel.is_set():
                    queue += self._ready()
                    queue = self._submit(pool, queue, running, per_map)
                if not running:
                    # Cache hits finish nodes without a run: go again while that frees others.
                    if (
                        not self.stopping
                        and not self.settings.cancel.is_set()
                        and self._any_ready()
                    ):
                        continue
                    break
                done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = running.pop(fut)
                    if item.index is not None:
                        per_map[item.node.id] -= 1
                    self._finish(*fut.result())
            for item in queue:  # never started: the workflow stopped first
                self._set(self._record(item, SKIPPED, "NotStarted", "the workflow stopped first"))
        for node in self.graph.nodes.values():
            if node.map is not None and self._phase(node.id) == RUNNING:
                self._finish_map(node)
        self._skip_unreached()
        return self._outputs()

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        queue: list[_Item],
        running: dict[Future[tuple[_Item, RunResult | PodtaskError]], _Item],
        per_map: dict[str, int],
    ) -> list[_Item]:
        left: list[_Item] = []
        for item in queue:
            spec = item.node.map
            cap = spec.concurrency if spec and spec.concurrency else None
            busy = per_map.get(item.node.id, 0)
            if len(running) >= self.options.parallel or (cap is not None and busy >= cap):
                left.append(item)
                continue
            if item.attach_run is None and self._cached(item):
                continue
            if item.index is not None:
                per_map[item.node.id] = busy + 1
            running[pool.submit(self._work, item)] = item
        return left

    def _ready(self) -> list[_Item]:
        """Nodes whose upstream all succeeded and that have not started: start or expand them."""
        out: list[_Item] = []
        for node in self.graph.nodes.values():
            if self._phase(node.id) != PENDING:
                continue
            ups = [self._phase(u) for u in node.upstream]
            if not all(p == SUCCEEDED for p in ups):
                continue
            literals = self._literals(node)
            if node.map is None:
                item = _Item(node.id, node, literals)
                self._set(self._record(item, RUNNING, "Queued", ""))
                out.append(item)
            else:
                out += self._expand(node, literals)
        return out

    def _any_ready(self) -> bool:
        return any(
            self._phase(n.id) == PENDING and all(self._phase(u) == SUCCEEDED for u in n.upstream)
            for n in self.graph.nodes.values()
        )

    def _literals(self, node: Node) -> dict[str, Any]:
        lits = {name: self.resolve(b) for name, b in node.bindings.items()}
        for var in node.task.interface.inputs:
            if var.name not in lits and var.has_default:
                lits[var.name] = var.default
        return lits

    def _expand(self, node: Node, literals: dict[str, Any]) -> list[_Item]:
        assert node.map is not None
        lists = {name: literals[name] for name in node.map.mapped}
        lengths = {len(v) for v in lists.values()}
        parent = NodeRecord(
            run_id=self.run_id, node_id=node.id, phase=RUNNING, started_at=time.time()
        )
        if len(lengths) > 1:
            self._fail_node(parent, "MapInputs", f"the mapped inputs differ in length: {lengths}")
            return []
        n = lengths.pop()
        self._set(replace(parent, reason="Mapping", message=f"{n} elements"))
        items = []
        for i in range(n):
            element = {**literals, **{k: v[i] for k, v in lists.items()}}
            item = _Item(f"{node.id}[{i}]", node, element, index=i)
            if self._phase(item.item_id) == SUCCEEDED or item.item_id in self.attaching:
                continue  # resumed: finished before podtask died, or followed again
            self._set(self._record(item, RUNNING, "Queued", ""))
            items.append(item)
        if not items and not self.attaching & {f"{node.id}[{i}]" for i in range(n)}:
            self._finish_map(node)
        return items

    def _record(self, item: _Item, phase: str, reason: str, message: str) -> NodeRecord:
        old = self.state.get(item.item_id)
        return NodeRecord(
            run_id=self.run_id,
            node_id=item.item_id,
            parent=item.node.id if item.index is not None else None,
            idx=item.index,
            phase=phase,
            reason=reason,
            message=message,
            child_run_id=old.child_run_id if old else None,
            started_at=old.started_at if old else None,
        )

    # -- cache ----------------------------------------------------------------------
    def _cached(self, item: _Item) -> bool:
        task = item.node.task
        if not task.cache or self.options.no_cache or self.options.overwrite_cache:
            return False
        entry = self.store.cache_get(cache_key(task, item.literals))
        if entry is None:
            return False
        now = time.time()
        self._set(
            replace(
                self._record(
                    item, SUCCEEDED, CACHE_HIT, f"reused the outputs of run {entry.run_id}"
                ),
                child_run_id=entry.run_id,
                started_at=now,
                ended_at=now,
                outputs_json=entry.outputs_json,
            )
        )
        self._after(item)
        return True

    # -- a worker thread ------------------------------------------------------------
    def _work(self, item: _Item) -> tuple[_Item, RunResult | PodtaskError]:
        stop_following: list[Callable[[], None]] = []

        def started(child: str) -> None:
            rec = replace(
                self._record(item, RUNNING, "Running", ""),
                child_run_id=child,
                started_at=time.time(),
            )
            self._set(rec)
            stop_following.append(self.on_node_start(item.item_id, child))

        try:
            if item.attach_run is not None:
                started(item.attach_run)
                return item, attach_node(item.node.task, item.attach_run, self.settings)
            values = {
                v.name: from_literal(item.literals[v.name], v.type, name=v.name)
                for v in item.node.task.interface.inputs
                if v.name in item.literals
            }
            return item, run_node(item.node.task, values, self.settings, on_start=started)
        except PodtaskError as exc:
            return item, exc
        finally:
            for stop in stop_following:
                stop()

    def _finish(self, item: _Item, result: RunResult | PodtaskError) -> None:
        """Record how an item ended (main thread only), then what follows from it."""
        self.attaching.discard(item.item_id)
        rec = self._record(item, FAILED, "", "")
        if isinstance(result, PodtaskError):
            rec = replace(
                rec, reason=type(result).__name__, message=str(result), ended_at=time.time()
            )
        else:
            rec = replace(
                rec,
                phase=result.phase if result.phase in DONE else FAILED,
                reason=result.reason,
                message=result.message,
                child_run_id=result.run_id,
                ended_at=time.time(),
                outputs_json=dumps_json(result.outputs) if result.outputs is not None else None,
                error_json=dumps_json(result.error) if result.error else None,
            )
            if result.phase == "ABORTED":
                self.stopping = True
        self._set(rec)
        if rec.phase == SUCCEEDED and item.node.task.cache and not self.options.no_cache:
            # The run's outputs are in its record and run directory by now: safe to point at.
            self.store.cache_put(
                CacheEntry(
                    key=cache_key(item.node.task, item.literals),
                    task=item.node.reference,
                    cache_version=item.node.task.cache_version,
                    run_id=rec.child_run_id or "",
                    outputs_json=rec.outputs_json or "{}",
                )
            )
        if rec.phase != SUCCEEDED and item.index is None and not self.options.continue_on_failure:
            self.stopping = True
        self._after(item)

    def _after(self, item: _Item) -> None:
        if item.index is None:
            return
        node = item.node
        elements = [r for r in self.state.values() if r.parent == node.id]
        if all(r.phase in DONE for r in elements):
            self._finish_map(node)

    def _finish_map(self, node: Node) -> None:
        assert node.map is not None
        elements = sorted(
            (r for r in self.state.values() if r.parent == node.id), key=lambda r: r.idx or 0
        )
        ok = [r for r in elements if r.phase == SUCCEEDED]
        failed = [r.idx for r in elements if r.phase != SUCCEEDED]
        parent = self.state[node.id]
        total = len(elements)
        ratio = len(ok) / total if total else 1.0
        if ratio + 1e-9 < node.map.min_success_ratio:
            shown = ", ".join(str(i) for i in failed[:20]) + (", ..." if len(failed) > 20 else "")
            self._fail_node(
                parent,
                "MinSuccessRatio",
                f"{len(failed)} of {total} elements failed (indices {shown}); "
                f"{len(ok)}/{total} is below min_success_ratio {node.map.min_success_ratio}",
            )
            return
        outs = {
            v.name: [json.loads(r.outputs_json or "{}")[v.name] for r in ok]
            for v in node.task.interface.outputs
        }
        message = f"{len(ok)} of {total} elements succeeded"
        if failed:
            message += f"; failed indices: {', '.join(str(i) for i in failed)}"
        self._set(
            replace(
                parent,
                phase=SUCCEEDED,
                reason="Mapped",
                message=message,
                ended_at=time.time(),
                outputs_json=dumps_json(outs),
            )
        )

    def _fail_node(self, rec: NodeRecord, reason: str, message: str) -> None:
        self._set(replace(rec, phase=FAILED, reason=reason, message=message, ended_at=time.time()))
        if not self.options.continue_on_failure:
            self.stopping = True

    def _skip_unreached(self) -> None:
        for node in self.graph.nodes.values():
            if self._phase(node.id) == PENDING:
                failed = [u for u in node.upstream if self._phase(u) != SUCCEEDED]
                why = (
                    f"upstream {', '.join(failed)} did not succeed"
                    if failed
                    else "the workflow stopped first"
                )
                self._set(
                    NodeRecord(
                        run_id=self.run_id,
                        node_id=node.id,
                        phase=SKIPPED,
                        reason="UpstreamFailed" if failed else "NotStarted",
                        message=why,
                    )
                )

    def _outputs(self) -> dict[str, Any]:
        bad = [r for r in self.state.values() if r.parent is None and r.phase in (FAILED, ABORTED)]
        if bad or self.settings.cancel.is_set():
            raise NodeFailed(bad[0] if bad else None)
        return {name: self.resolve(b) for name, b in self.graph.outputs.items()}

    # -- resume ---------------------------------------------------------------------
    def _recover(self) -> list[_Item]:
        """Bring records left by a podtask that died up to date; returns runs to re-attach.

        Finished nodes stay as they are. An unfinished node whose run finished
        meanwhile takes that run's ending; one whose run is still going on an
        engine that outlives its client is followed again; any other goes back
        to PENDING (a local run died with its podtask), as do nodes that were
        skipped or not started. A map node is re-expanded, keeping its finished elements.
        """
        if not self.state:
            return []
        attach: list[_Item] = []
        with RunStore.in_home() as runs:
            runs.reap_lost()
            for rec in list(self.state.values()):
                if rec.phase == SUCCEEDED:
                    continue
                child = None
                if rec.child_run_id and rec.reason != CACHE_HIT:
                    try:
                        child = runs.get(rec.child_run_id)
                    except SpecError:
                        child = None
                node = self.graph.nodes.get(rec.parent or rec.node_id)
                if node is None:
                    continue
                if child is not None and child.phase == SUCCEEDED:
                    self._set(
                        replace(
                            rec,
                            phase=SUCCEEDED,
                            reason=child.reason,
                            message=child.message,
                            ended_at=child.ended_at,
                            outputs_json=child.outputs_json,
                        )
                    )
                elif child is not None and child.phase not in TERMINAL_PHASES and self.survives:
                    literals = self._literals(node)  # for the cache entry written at the end
                    if rec.idx is not None and node.map is not None:
                        for name in node.map.mapped:
                            literals[name] = literals[name][rec.idx]
                    item = _Item(
                        rec.node_id, node, literals, index=rec.idx, attach_run=child.run_id
                    )
                    self.attaching.add(rec.node_id)
                    attach.append(item)
                else:
                    self.store_forget(rec)
        for node in self.graph.nodes.values():
            # An unfinished map node is expanded again; its finished elements are kept.
            if node.map is not None and self._phase(node.id) not in (PENDING, SUCCEEDED):
                self.state.pop(node.id, None)
        return attach

    def store_forget(self, rec: NodeRecord) -> None:
        """Set a node back to PENDING (its old run id stays in the run store for history)."""
        self.state.pop(rec.node_id, None)
