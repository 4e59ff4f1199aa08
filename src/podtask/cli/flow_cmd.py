"""``podtask run FILE WORKFLOW``, ``attach`` of a workflow run, and ``podtask cache``.

``podtask run`` hands over to :func:`run_workflow_if_named` when its name
argument is a workflow; the workflow's own options (``--parallel``,
``--continue-on-failure``, ``--no-cache``, ``--overwrite-cache``) are read from
the arguments after the name, next to the workflow's inputs.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

import click

from podtask._errors import SpecError
from podtask.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, err, handle_errors

FLAGS = ("--continue-on-failure", "--no-cache", "--overwrite-cache")


def default_parallel() -> int:
    """Nodes mostly wait on their pods, so a few per core: 2 x CPU cores, at least 2."""
    return max(2, 2 * (os.cpu_count() or 1))


def _split_flow_args(extra: list[str]) -> tuple[dict[str, Any], list[str]]:
    opts: dict[str, Any] = {f: False for f in FLAGS}
    opts["--parallel"] = default_parallel()
    rest: list[str] = []
    i = 0
    while i < len(extra):
        token = extra[i]
        name, eq, value = token.partition("=")
        if token in FLAGS:
            opts[token] = True
        elif name == "--parallel":
            if not eq:
                if i + 1 >= len(extra):
                    raise SpecError("--parallel needs a number", field="--parallel")
                value = extra[i + 1]
                i += 1
            try:
                opts["--parallel"] = int(value)
            except ValueError:
                raise SpecError(f"not a number: {value!r}", field="--parallel") from None
            if opts["--parallel"] < 1:
                raise SpecError("must be >= 1", field="--parallel")
        else:
            rest.append(token)
        i += 1
    if opts["--no-cache"] and opts["--overwrite-cache"]:
        raise SpecError(
            "--no-cache and --overwrite-cache exclude each other", field="--overwrite-cache"
        )
    return opts, rest


def _settings(
    engine: str, params: dict[str, Any], cancel: threading.Event, hurry: threading.Event
) -> Any:  # NodeRunSettings
    from podtask._flow.node_run import NodeRunSettings
    from podtask.engines import get_engine

    options = {
        k: v
        for k, v in {
            "namespace": params.get("namespace"),
            "context": params.get("kube_context"),
            "storage": params.get("storage"),
            "ship_code": params.get("ship_code"),
        }.items()
        if v is not None
    }
    seen: set[str] = set()

    def notice(message: str) -> None:  # the same engine notice from every node: say it once
        if message not in seen:
            seen.add(message)
            err(message)

    return NodeRunSettings(
        engine=lambda: get_engine(engine),
        image=params.get("image"),
        grace=params.get("grace"),
        sidecar_mode=params.get("sidecar_mode"),
        engine_options=options,
        cancel=cancel,
        hurry=hurry,
        notice=notice,
    )


def _may_define_workflows(file: str) -> bool:
    """False when loading ``file`` made no workflow class exist, so it defines none.

    A workflow is an instance of ``podtask._flow.workflow.Workflow``; if
    importing the user's file did not import that module, the file cannot hold
    one, and a task run skips the flow machinery's imports (about 10 ms).
    """
    from podtask._authoring import source_ref
    from podtask._authoring.discover import import_module

    ref = source_ref(file)
    import_module(ref.root, ref.module, ref.path)  # the task run reuses the loaded module
    return "podtask._flow.workflow" in sys.modules


def run_workflow_if_named(
    ctx: click.Context, file: str, name: str | None, tokens: list[str]
) -> None:
    """Run the workflow ``podtask run FILE NAME`` names, and exit; return if NAME is none.

    ``tokens`` are the arguments after NAME: the workflow's inputs and options.
    """
    if name is None or not _may_define_workflows(file):
        return
    from podtask._flow.execute import find_workflow, start_workflow
    from podtask._flow.scheduler import FlowOptions
    from podtask._types import parse_cli_value
    from podtask.cli.run_cmd import TASK_HELP, parse_input_args

    params = dict(ctx.params)
    found = find_workflow(file, name)
    if found is None:
        return
    ref, wf = found
    if ctx.meta.get(TASK_HELP):
        click.echo(workflow_help(wf, file), nl=False)
        sys.exit(EXIT_OK)
    if params.get("detach"):
        raise SpecError("a workflow cannot be detached", field="--detach", hint="drop --detach")
    flow_opts, rest = _split_flow_args(tokens)
    values: dict[str, Any] = {}
    for name, text in parse_input_args(rest).items():
        var = next((v for v in wf.interface.inputs if v.name == name), None)
        if var is None:
            names = ", ".join(f"--{v.name}" for v in wf.interface.inputs) or "none"
            raise SpecError(f"{wf.name} has no input {name!r}", field=name, hint=f"inputs: {names}")
        values[name] = parse_cli_value(text, var.type, name=name)
    cancel, hurry = threading.Event(), threading.Event()
    options = FlowOptions(
        parallel=flow_opts["--parallel"],
        continue_on_failure=flow_opts["--continue-on-failure"],
        no_cache=flow_opts["--no-cache"],
        overwrite_cache=flow_opts["--overwrite-cache"],
    )
    settings = _settings(params["engine"], params, cancel, hurry)
    _drive(
        list(wf.graph().nodes),
        cancel,
        hurry,
        lambda **view: start_workflow(
            ref,
            wf,
            values,
            settings,
            options,
            on_start=lambda rid: err(f"workflow run {rid} ({params['engine']} engine)"),
            **view,
        ),
        as_json=bool(params.get("as_json")),
    )


def _drive(
    nodes: list[str],
    cancel: threading.Event,
    hurry: threading.Event,
    execute: Callable[..., Any],
    *,
    as_json: bool,
) -> NoReturn:
    """Run a workflow to its end under Ctrl-C handling, drawing its progress, then exit.

    ``execute(on_change=..., on_node_start=...)`` starts or resumes the run;
    both ways show and end the same.
    """
    from podtask.cli.flow_view import FlowView
    from podtask.cli.run_cmd import _Interrupts

    view = FlowView(nodes, as_json=as_json).start()
    with _Interrupts(cancel, hurry):
        try:
            result = execute(on_change=view.change, on_node_start=view.follow)
        finally:
            view.stop()
    finish_workflow(result, as_json=as_json)


def workflow_help(wf: Any, file: str) -> str:
    """``podtask run FILE WORKFLOW --help``: the workflow's inputs, outputs, nodes and options."""
    lines = [
        f"Usage: podtask run {file} {wf.name} [RUN OPTIONS] [WORKFLOW OPTIONS] [--INPUT VALUE]..."
    ]
    if wf.__doc__:
        lines += ["", "  " + wf.__doc__.strip().splitlines()[0]]
    lines += ["", "Inputs:"]
    for v in wf.interface.inputs:
        default = f" (default {json.dumps(v.default)})" if v.has_default else " (required)"
        lines.append(f"  --{v.name.replace('_', '-')} {v.type}{default}")
    lines += ["", "Outputs:"]
    lines += [f"  {v.name}: {v.type}" for v in wf.interface.outputs] or ["  none"]
    lines += ["", "Nodes: " + ", ".join(wf.graph().nodes), "", "Workflow options:"]
    lines += [
        f"  --parallel N           nodes at once (default {default_parallel()}: 2 x CPU cores)",
        "  --continue-on-failure  run every node whose inputs exist after a node fails",
        "  --no-cache             skip cache lookups for this run",
        "  --overwrite-cache      run cached tasks and replace their cache entries",
    ]
    return "\n".join(lines) + "\n"


def attach_workflow_if_known(run_id: str, as_json: bool) -> None:
    """``podtask attach`` of a workflow run resumes it; returns if ``run_id`` is no workflow run."""
    from podtask._flow.execute import resume_workflow
    from podtask._storage.flows import FlowStore

    if not FlowStore.exists_in_home():
        return
    with FlowStore.in_home() as store:
        if store.find(run_id) is None:
            return
    cancel, hurry = threading.Event(), threading.Event()

    def make(engine: str, saved: dict[str, Any]) -> Any:
        params = {
            "image": saved.get("image"),
            "grace": saved.get("grace"),
            "sidecar_mode": saved.get("sidecar_mode"),
        }
        s = _settings(engine, params, cancel, hurry)
        s.engine_options = dict(saved.get("engine_options") or {})
        return s

    _drive(
        [],
        cancel,
        hurry,
        lambda **view: resume_workflow(
            run_id, make, on_start=lambda rid: err(f"resuming workflow run {rid}"), **view
        ),
        as_json=as_json,
    )


def finish_workflow(result: Any, *, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps(result.to_json(), sort_keys=True))
    else:
        summary = f"{result.run_id}: {result.phase}"
        if result.message and not result.succeeded:
            summary += f": {result.message}"
        err(summary)
        for name, value in (result.outputs or {}).items():
            click.echo(f"{name} = {json.dumps(value)}")
    if result.phase == "ABORTED":
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_OK if result.succeeded else EXIT_FAILED)


def describe_workflow_if_known(run_id: str) -> bool:
    """``podtask describe`` of a workflow run: print it and return True; False for other runs."""
    from podtask._storage.flows import FlowStore
    from podtask.cli.flow_show import describe_workflow

    if not FlowStore.exists_in_home():
        return False
    with FlowStore.in_home() as store:
        record = store.find(run_id)
        if record is None:
            return False
        nodes = store.nodes(record.run_id)
    click.echo(describe_workflow(record, nodes), nl=False)
    return True


def workflow_logs_if_known(run_id: str, container: str | None) -> bool:
    """``podtask logs`` of a workflow run: every node's logs as ``[node/container] line``.

    Nodes in the order they started; a cache hit has no logs of its own (its
    run id leads to the run it reused). False when ``run_id`` is no workflow run.
    Whatever cannot be shown is said on stderr, as for a task run: a
    container that wrote nothing, a node whose run was pruned (retention,
    ``podtask prune``).  When pruning left nothing to show at all the command
    fails (exit 1), as ``kubectl logs`` does for a pod that was deleted.
    """
    from podtask._run.follow import copy_log
    from podtask._storage import podtask_home
    from podtask._storage.flows import FlowStore

    if not FlowStore.exists_in_home():
        return False
    with FlowStore.in_home() as store:
        record = store.find(run_id)
        if record is None:
            return False
        nodes = store.nodes(record.run_id)
    home = podtask_home()
    shown, pruned = 0, []
    for n in nodes:
        if not n.child_run_id:
            continue
        if n.reason == "CacheHit":
            err(f"[{n.node_id}] (a cache hit: its logs are those of run {n.child_run_id})")
            continue
        logs = home / "runs" / n.child_run_id / "logs"
        if not logs.is_dir():
            pruned.append(n.child_run_id)
            err(f"[{n.node_id}] (run {n.child_run_id} was pruned: its logs are gone)")
            continue
        for path in sorted(logs.glob("*.log")):
            if container is not None and path.stem != container:
                continue
            shown += 1
            if path.stat().st_size == 0:
                err(f"[{n.node_id}/{path.stem}] (wrote nothing to stdout or stderr)")
            else:
                copy_log(path, sys.stdout, prefix=f"[{n.node_id}/{path.stem}] ")
    if pruned and not shown:
        err(
            f"error: workflow run {record.run_id} has no logs left: the runs of its nodes were "
            "pruned (PODTASK_KEEP_RUNS, PODTASK_KEEP_FOR or `podtask prune`)"
        )
        sys.exit(EXIT_FAILED)
    return True


def print_workflow_runs(limit: int) -> None:
    """The ``podtask runs`` section of workflow runs, with their nodes counted by phase."""
    from podtask._storage.flows import FlowStore
    from podtask.cli.flow_show import workflow_runs_table

    if not FlowStore.exists_in_home():
        return
    with FlowStore.in_home() as store:
        rows = [(r, store.nodes(r.run_id)) for r in store.list(limit)]
    if rows:
        click.echo("")
        click.echo(workflow_runs_table(rows), nl=False)


def compile_workflow(file: str, name: str, image: str | None, output_dir: str | None) -> bool:
    """``podtask compile FILE WORKFLOW``: the graph document beside each task's template and pod.

    Returns False when ``name`` is not a workflow of ``file``. Output is
    deterministic: sorted keys, paths relative to the output directory.
    """
    from pathlib import Path

    from podtask._authoring import source_ref
    from podtask._compile import DEFAULT_IMAGE, compile_task, to_json, to_yaml
    from podtask._flow.execute import find_workflow
    from podtask._flow.node_run import task_source
    from podtask._storage import schema_cache, write_atomic

    found = find_workflow(file, name)
    if found is None:
        return False
    _, wf = found
    graph = wf.graph()
    doc = graph.to_json()
    default = os.environ.get("PODTASK_IMAGE") or DEFAULT_IMAGE
    files: dict[str, tuple[str, str]] = {}
    refs: dict[str, str] = {}
    for node in graph.nodes.values():
        task = node.task
        if task.name in files:
            if refs[task.name] != node.reference:
                raise SpecError(
                    f"two tasks named {task.name}: {refs[task.name]} and {node.reference}",
                    field=node.id,
                    hint="rename one of them",
                )
        else:
            ref = source_ref(task_source(task))
            compiled = compile_task(
                task,
                image=image,
                default_image=default,
                reference=node.reference,
                base_dir=ref.path.parent,
                schema_cache_dir=schema_cache(),
            )
            for w in compiled.warnings:
                err(f"warning: {task.name}: {w}")
            files[task.name] = (to_json(compiled.template), to_yaml(compiled.manifest))
            refs[task.name] = node.reference
        doc["nodes"][node.id]["template"] = f"{task.name}.task.json"
        doc["nodes"][node.id]["pod"] = f"{task.name}.pod.yaml"
    if output_dir is None:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return True
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for task_name, (template, manifest) in sorted(files.items()):
        write_atomic(out / f"{task_name}.task.json", template)
        write_atomic(out / f"{task_name}.pod.yaml", manifest)
    write_atomic(out / f"{wf.name}.workflow.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
    err(f"wrote {out / (wf.name + '.workflow.json')} and {len(files)} task(s)")
    return True


@click.group("cache")
def cache_group() -> None:
    """Cached task outputs (tasks with cache=True and a cache_version)."""


@cache_group.command("list")
@click.argument("task", required=False)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def cache_list(task: str | None, as_json: bool) -> None:
    """List cache entries, of every task or of TASK (NAME or MODULE:NAME)."""
    from podtask._storage.flows import FlowStore

    with FlowStore.in_home() as store:
        entries = store.cache_list(task)
    if as_json:
        click.echo(json.dumps([e.__dict__ for e in entries], sort_keys=True))
        return
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.created_at))
        click.echo(f"{e.task}  version={e.cache_version or '-'}  run={e.run_id}  {when}")
    if not entries:
        err("no cache entries")


@cache_group.command("clear")
@click.argument("task", required=False)
@handle_errors
def cache_clear(task: str | None) -> None:
    """Remove cache entries, of every task or of TASK; the runs themselves are kept."""
    from podtask._storage.flows import FlowStore

    with FlowStore.in_home() as store:
        n = store.cache_clear(task)
    err(f"removed {n} cache entr{'y' if n == 1 else 'ies'}")


COMMANDS: list[click.Command] = [cache_group]
