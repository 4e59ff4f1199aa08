"""The engine's side of the API-only transport (see ``transport`` for both sides' contract).

Wiring the ConfigMap and the termination message into the pod, refusing what
cannot fit before anything starts, reading the results back from the primary's
status, and deleting the ConfigMap when the attempt ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podtask._errors import PodtaskError, SpecError
from podtask._lifecycle import TaskPhase, Verdict
from podtask._run import AttemptContext
from podtask._storage import write_json_atomic
from podtask.engines.kubernetes import transport
from podtask.engines.kubernetes.configmap import IoConfigMap

if TYPE_CHECKING:
    from podtask.engines.kubernetes.engine import _Attempt


def pod_io(run_id: str, pod: str) -> tuple[str, str]:
    """Where the primary reads its inputs (the ConfigMap) and writes its outputs (an emptyDir).

    The engine's ``Capabilities.io`` for this transport: ``attempt_manifest``
    puts these paths in the primary's argv.
    """
    return f"{transport.IO_DIR}/{transport.INPUTS_KEY}", transport.output_dir(pod)


def api_transport(
    spec: dict[str, Any], primary: dict[str, Any], pod: str, *, ship: bool
) -> list[dict[str, Any]]:
    """Wire the API-only transport into the pod; returns the primary's extra env.

    The ConfigMap (code, inputs) is mounted read-only, an emptyDir takes the
    outputs and the unpacked code, and the entrypoint writes the results to the
    termination-message file.  ``FallbackToLogsOnError``: when the entrypoint
    never got as far, the status still carries the log's tail.
    """
    spec.setdefault("volumes", []).extend(
        [
            {"name": transport.IO_VOLUME, "configMap": {"name": IoConfigMap.name_for(pod)}},
            {"name": transport.WORK_VOLUME, "emptyDir": {}},
        ]
    )
    primary.setdefault("volumeMounts", []).extend(
        [
            {"name": transport.IO_VOLUME, "mountPath": transport.IO_DIR, "readOnly": True},
            {"name": transport.WORK_VOLUME, "mountPath": transport.WORK_DIR},
        ]
    )
    primary["terminationMessagePath"] = transport.TERMINATION_LOG
    primary["terminationMessagePolicy"] = "FallbackToLogsOnError"
    env = [{"name": transport.RESULT_MESSAGE_ENV, "value": transport.TERMINATION_LOG}]
    if ship:
        env.append(
            {"name": transport.CODE_BUNDLE_ENV, "value": f"{transport.IO_DIR}/{transport.CODE_KEY}"}
        )
    return env


def check_api_size(bundle: bytes | None, inputs: bytes) -> None:
    """Exit 2 before anything starts when code and inputs cannot fit in one ConfigMap."""
    size = len(bundle or b"") + len(inputs)
    room = transport.CONFIGMAP_LIMIT - transport.CONFIGMAP_HEADROOM
    if size <= room:
        return
    raise SpecError(
        f"without --storage the code bundle ({len(bundle or b'') // 1024} KiB) and the inputs "
        f"({len(inputs) // 1024} KiB) travel in a ConfigMap, which holds at most "
        f"{room // 1024} KiB; results come back in the termination message "
        f"({transport.MESSAGE_LIMIT} bytes)",
        field="--storage",
        hint="pass --storage URL that the cluster's pods can reach (s3://bucket/podtask, "
        "gs://..., or file:///dir mounted on the nodes), or bake the code into the image "
        "and pass --no-ship-code",
    )


def primary_message(doc: dict[str, Any], primary: str) -> str | None:
    for raw in (doc.get("status") or {}).get("containerStatuses") or []:
        if raw.get("name") == primary:
            terminated = (raw.get("state") or {}).get("terminated") or {}
            return terminated.get("message")
    return None


def read_results(ctx: AttemptContext, doc: dict[str, Any], verdict: Verdict) -> Verdict:
    """Write the results the primary left in its termination message to the run directory."""
    try:
        files = transport.decode_results(primary_message(doc, ctx.primary))
    except transport.NotOurs:
        return verdict  # no results: the runner says which are missing, the logs say why
    out = Path(ctx.output_prefix)
    out.mkdir(parents=True, exist_ok=True)
    limit = files.pop("limit", None)
    if isinstance(limit, dict):
        return Verdict(
            TaskPhase.FAILED,
            "ResultsTooLarge",
            f"the task's results take {limit.get('bytes')} bytes encoded, and without --storage "
            f"they travel in the primary's termination message, which holds "
            f"{limit.get('max')} bytes: pass --storage URL that the cluster's pods can reach",
        )
    times = files.pop(transport.TIMES_FILE, None)
    if times is not None:
        entrypoint_events(ctx, transport.file_bytes(times))
    for rel, value in files.items():
        target = (out / rel).resolve()
        if out.resolve() not in target.parents:
            continue  # never outside the output directory
        data = transport.file_bytes(value)
        if rel == "outputs.json":
            pod = str((doc.get("metadata") or {}).get("name"))
            text = data.decode().replace(transport.output_dir(pod), str(out))
            write_json_atomic(target, json.loads(text))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return verdict


def entrypoint_events(ctx: AttemptContext, data: bytes) -> None:
    """The entrypoint's own start and end of the task, to the millisecond (a kubelet's
    container times are whole seconds)."""
    try:
        times = json.loads(data)
    except ValueError:
        return
    for event, key in (("task-started", "started"), ("task-finished", "finished")):
        if isinstance(times.get(key), (int, float)):
            ctx.on_event(
                {
                    "event": event,
                    "container": ctx.primary,
                    "attempt": ctx.attempt,
                    "time": float(times[key]),
                    "time_source": "entrypoint",
                }
            )


def drop_io(attempt: _Attempt, ctx: AttemptContext) -> None:
    """Delete the attempt's ConfigMap (the owner reference is the backstop, not the plan)."""
    if attempt.via != "api":
        return
    try:
        IoConfigMap(attempt.cluster, attempt.namespace, attempt.pod_name).delete()
    except PodtaskError as exc:
        ctx.notice(f"kubernetes engine: ConfigMap {attempt.pod_name}-io not deleted: {exc}")


__all__ = [
    "api_transport",
    "check_api_size",
    "drop_io",
    "entrypoint_events",
    "pod_io",
    "primary_message",
    "read_results",
]
