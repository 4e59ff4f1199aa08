"""The Kubernetes engine: create the pod, follow it through the shared watch, clean up.

An attempt is: place the Pod (shaped once by ``attempt_manifest`` from
``capabilities()``: sidecar mode, entrypoint, storage URLs) with its
namespace, ``activeDeadlineSeconds`` and transport, create it (5xx retried;
a create that succeeded before its answer was lost is adopted by its run-id
label), follow it through the
process's single watch, ask ``_lifecycle.decide`` what each state means, then
save every container's log, fetch the outputs, and delete the pod.  The pod
finishes on its own when the primary ends (native sidecars, or the managed
entrypoint stopping them), so a client that dies mid-run loses nothing: the
state of each attempt is written to ``<run dir>/kubernetes.json`` and
``follow`` (``podtask attach``) picks the run up again.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podtask._compile import to_yaml
from podtask._compile.render import Capabilities, may_finish
from podtask._contract import (
    ENTRYPOINT_COMMAND,
    ENTRYPOINT_MODULE,
    ENV_CODE_URL,
    ENV_SOURCE_ROOT,
    ERROR_FILE,
    INPUTS_FILE,
    LABEL_ATTEMPT,
    LABEL_RUN,
    OUTPUTS_FILE,
    bootstrap_env,
)
from podtask._errors import EngineUnavailable, EngineUnreachable, InfrastructureError, SpecError
from podtask._lifecycle import ContainerStatus, PodStatus, TaskPhase, Verdict, decide
from podtask._lifecycle.reasons import UNHEALTHY
from podtask._run import AttemptContext, AttemptOutcome, EngineOptions, KubernetesOptions
from podtask._run.engine import PULL_POLICIES
from podtask._storage import (
    current_process_identity,
    process_alive,
    read_json,
    write_atomic,
    write_json_atomic,
)
from podtask._storage.remote import CODE_BUNDLE, RemoteStore, make_code_bundle, scheme
from podtask.engines.kubernetes import adapt, api_io, pod_events
from podtask.engines.kubernetes.client import Cluster, connect, discard
from podtask.engines.kubernetes.configmap import IoConfigMap
from podtask.engines.kubernetes.errors import (
    Conflict,
    NotFound,
    translate,
    user_field,
    with_retries,
)
from podtask.engines.kubernetes.logs import LogStreams, container_names, upload_logs
from podtask.engines.kubernetes.watcher import (
    DELETED,
    ERROR,
    GONE,
    MODIFIED,
    PodEvent,
    Subscription,
    watcher_for,
)

#: --pull (PULL_POLICIES, with KubernetesOptions): the primary's imagePullPolicy.  Without it
#: podtask sets IfNotPresent unless the task set a policy: Kubernetes would default `:latest`
#: to Always, and an image loaded into the node (`kind load`, `ctr import`) could then never be
#: pulled.
#: How long a transient image pull error (a timeout, a rate limit) may last before the
#: attempt fails; a permanent one (not found, denied, unauthorized) fails at once.
DEFAULT_PULL_GRACE = 60.0
STATE_FILE = "kubernetes.json"
#: The options a run's state file keeps, so that ``attach`` finds its pods again.
_KEPT = ("namespace", "context", "storage", "kubeconfig")
TICK = 0.25  # longest wait between checks of Ctrl-C and the deadline
NATIVE_SIDECARS_SINCE = (1, 29)
FINISH_WAIT_MAX = 30.0  # after the primary ended: how long the pod may take to stop its sidecars
DELETE_WAIT_EXTRA = 15.0
# The watch has failed this long: ask the server directly; if that fails too (after its
# retries), the run is left unfinished (EngineUnreachable) instead of waiting forever.
UNREACHABLE_AFTER = 30.0
REMOTE_ENTRYPOINT = (*ENTRYPOINT_COMMAND[:-1], ENTRYPOINT_MODULE + ".remote")
STORAGE_VOLUME = "podtask-storage"  # file:// storage, mounted into the primary


@dataclass
class _Attempt:
    """Everything about one attempt's pod that follow() needs, also after a restart."""

    cluster: Cluster
    namespace: str
    pod_name: str
    mode: str
    remote: RemoteStore | None  # <storage>/<run_id>
    created_at: float  # epoch
    deadline_at: float | None  # epoch
    via: str = "storage"  # how code, inputs and results travel: storage | host | api


def _state_path(ctx: AttemptContext) -> Path:
    return ctx.run_dir.path / STATE_FILE


def read_state(run_dir: Path) -> dict[str, Any]:
    data = read_json(run_dir / STATE_FILE)
    return data if isinstance(data, dict) else {}


def _rv(pod: dict[str, Any] | None) -> int | None:
    text = str(((pod or {}).get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else None


class KubernetesEngine:
    """Pods on a Kubernetes cluster through the official client and one watch per process."""

    name = "kubernetes"
    # A SurvivingEngine (submit/follow/peek): the pod finishes without podtask, so runs
    # carry no owner process and can be re-attached.
    options_type = KubernetesOptions

    def __init__(
        self,
        *,
        kubeconfig: str | None = None,
        image_pull_grace: float | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        env_grace = os.environ.get("PODTASK_IMAGE_PULL_GRACE")
        self.image_pull_grace = (
            image_pull_grace
            if image_pull_grace is not None
            else float(env_grace)
            if env_grace
            else DEFAULT_PULL_GRACE
        )

    # -- options and connection ----------------------------------------------------
    def _options(self, ctx: AttemptContext) -> KubernetesOptions:
        return _merged(ctx.options(KubernetesOptions), ctx.run_dir.path)

    def _cluster(self, options: KubernetesOptions) -> Cluster:
        return connect(options.context, options.kubeconfig or self.kubeconfig)

    def _namespace(self, cluster: Cluster, options: KubernetesOptions) -> str:
        return str(options.namespace or cluster.default_namespace)

    def capabilities(self, options: EngineOptions, run_dir: Path) -> Capabilities:
        """The pod finishes alone; native sidecars from 1.29; argv by transport (``_via``)."""
        given = options if isinstance(options, KubernetesOptions) else KubernetesOptions()
        merged = _merged(given, run_dir)
        cluster = self._cluster(merged)
        native = _version(cluster) >= NATIVE_SIDECARS_SINCE
        via = self._via(cluster, merged)
        if via == "storage":
            io = functools.partial(_storage_io, RemoteStore(str(merged.storage)))
            return Capabilities(
                finishes_alone=True, native_sidecars=native, entrypoint=REMOTE_ENTRYPOINT, io=io
            )
        io_of = api_io.pod_io if via == "api" else None
        return Capabilities(finishes_alone=True, native_sidecars=native, io=io_of)

    def prepare(self, ctx: AttemptContext) -> None:
        # Options it does not take were refused by the runner (``options`` below).
        options = self._options(ctx)
        cluster = self._cluster(options)
        _version(cluster)
        cluster.check_namespace(self._namespace(cluster, options))
        if options.storage:
            RemoteStore(options.storage).check_reachable()  # fsspec present, scheme known
        elif self._via(cluster, options) == "api":
            api_io.check_api_size(self._bundle(ctx, options), b"")
        if ctx.sidecar_mode not in (None, "native", "managed"):
            raise SpecError(f"unknown sidecar mode {ctx.sidecar_mode!r}", field="--sidecar-mode")

    # -- how code, inputs and results travel ---------------------------------------------
    def _via(self, cluster: Cluster, options: KubernetesOptions) -> str:
        """``storage`` (--storage), ``host`` (the pods see this machine's files: only a
        server that says so), or ``api`` (a ConfigMap in, the termination message out)."""
        if options.storage:
            return "storage"
        return "host" if cluster.shares_host_files() else "api"

    def _bundle(self, ctx: AttemptContext, options: KubernetesOptions) -> bytes | None:
        """The code bundle the API transport ships (None with --no-ship-code)."""
        if options.ship_code is False:
            return None
        return make_code_bundle(Path(ctx.source_root))

    # -- building the pod ---------------------------------------------------------------
    def _remote(self, options: KubernetesOptions, run_id: str) -> RemoteStore | None:
        storage = options.storage
        return RemoteStore(storage).child(run_id) if storage else None

    def _manifest(
        self,
        ctx: AttemptContext,
        cluster: Cluster,
        namespace: str,
        remote: RemoteStore | None,
        via: str,
    ) -> tuple[dict[str, Any], str]:
        options = self._options(ctx)
        mode = str(ctx.sidecar_mode)  # always chosen: capabilities() says the pod finishes alone
        manifest = copy.deepcopy(ctx.manifest)
        if mode == "native" and ctx.attempt == 1:
            for name in may_finish(manifest, ctx.primary):
                ctx.notice(
                    f"kubernetes engine: sidecar {name!r} declares no port or probe; if it "
                    "exits on its own, the kubelet starts it again in native mode (managed "
                    "mode runs it once, as the other engines do)"
                )
        meta = manifest.setdefault("metadata", {})
        meta["namespace"] = namespace
        spec = manifest.setdefault("spec", {})
        if ctx.deadline is not None:
            left = ctx.deadline - time.monotonic()
            spec["activeDeadlineSeconds"] = max(1, math.ceil(left))
        primary = next(c for c in spec["containers"] if c.get("name") == ctx.primary)
        if options.pull:
            primary["imagePullPolicy"] = PULL_POLICIES[options.pull]
        else:
            primary.setdefault("imagePullPolicy", "IfNotPresent")
        boot = bootstrap_env(ctx.run_id, ctx.attempt, None)
        env = [e for e in primary.get("env", []) if e.get("name") not in (*boot, ENV_CODE_URL)]
        env += [{"name": k, "value": v} for k, v in boot.items()]
        if via == "host":
            # The API server's pods see this machine's files (it said so; see _via).
            env.append({"name": ENV_SOURCE_ROOT, "value": str(ctx.source_root)})
        elif via == "api":
            shipped = options.ship_code is not False
            env += api_io.api_transport(spec, primary, str(meta["name"]), ship=shipped)
        elif remote is not None:  # argv and command: attempt_manifest, from capabilities()
            if scheme(remote.url) == "file":
                # file:// means a directory the nodes share with this machine at the same
                # path: mount it into the primary, or its writes stay in the container.
                root = str(options.storage).removeprefix("file://").rstrip("/") or "/"
                spec.setdefault("volumes", []).append(
                    {
                        "name": STORAGE_VOLUME,
                        "hostPath": {"path": root, "type": "DirectoryOrCreate"},
                    }
                )
                primary.setdefault("volumeMounts", []).append(
                    {"name": STORAGE_VOLUME, "mountPath": root}
                )
            # The code must reach the pod somehow: baked into the image (--no-ship-code),
            # shipped, or read from this machine's files where the pods share them.
            ship = options.ship_code
            if ship is None:
                ship = not cluster.shares_host_files()
            if ship:
                env.append({"name": ENV_CODE_URL, "value": remote.join(CODE_BUNDLE)})
            elif cluster.shares_host_files():
                env.append({"name": ENV_SOURCE_ROOT, "value": str(ctx.source_root)})
        primary["env"] = env
        return manifest, mode

    # -- the Engine protocol -----------------------------------------------------------
    def submit(self, ctx: AttemptContext) -> None:
        """Create this attempt's pod and return: ``--detach``; ``follow`` picks it up later."""
        attempt, _ = self._start(ctx, None)
        del attempt

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        options = self._options(ctx)
        cluster = self._cluster(options)
        watcher = watcher_for(cluster, self._namespace(cluster, options))
        sub = watcher.subscribe(ctx.manifest["metadata"]["name"])
        attempt: _Attempt | None = None
        _set_follower(ctx, True)
        try:
            attempt, pod = self._start(ctx, sub)
            watcher.mark_created(sub)
            return self._follow(ctx, attempt, sub, pod)
        except EngineUnreachable:
            raise  # the pod runs on: a later attach follows it (and deletes it)
        except BaseException:
            if attempt is not None:
                self._delete(attempt, grace=0)
            raise
        finally:
            watcher.unsubscribe(sub)
            _set_follower(ctx, False)
            if attempt is not None:
                api_io.drop_io(attempt, ctx)

    def follow(self, ctx: AttemptContext) -> AttemptOutcome:
        """Follow an attempt created earlier (maybe by another podtask process) to its end."""
        state = read_state(ctx.run_dir.path)
        info = (state.get("attempts") or {}).get(str(ctx.attempt))
        if not info:
            raise SpecError(
                f"run {ctx.run_id} has no record of a pod for attempt {ctx.attempt}",
                hint="it was not started by the kubernetes engine",
            )
        options = self._options(ctx)
        cluster = self._cluster(options)
        namespace = str(info["namespace"])
        attempt = _Attempt(
            cluster=cluster,
            namespace=namespace,
            pod_name=str(info["pod"]),
            mode=str(info["mode"]),
            remote=self._remote(options, ctx.run_id),
            created_at=float(info["created_at"]),
            deadline_at=info.get("deadline_at"),
            via=str(info.get("via") or "storage"),
        )
        watcher = watcher_for(cluster, namespace)
        sub = watcher.subscribe(attempt.pod_name)
        watcher.mark_created(sub)
        _set_follower(ctx, True)
        try:
            pod: dict[str, Any] | None
            try:
                pod = self._get(attempt)
            except NotFound:
                pod = None
            return self._follow(ctx, attempt, sub, pod)
        except EngineUnreachable:
            raise  # the pod runs on: a later attach follows it (and deletes it)
        except BaseException:
            self._delete(attempt, grace=0)
            raise
        finally:
            watcher.unsubscribe(sub)
            _set_follower(ctx, False)
            api_io.drop_io(attempt, ctx)

    def peek(self, ctx: AttemptContext) -> Verdict | None:
        """What the attempt's pod means now (one GET, no waiting); None when another
        podtask process is following it, or when the attempt has no pod on record."""
        state = read_state(ctx.run_dir.path)
        if _follower_alive(state):
            return None
        info = (state.get("attempts") or {}).get(str(ctx.attempt))
        if not info:
            return None
        cluster = self._cluster(self._options(ctx))
        attempt = _Attempt(
            cluster,
            str(info["namespace"]),
            str(info["pod"]),
            str(info["mode"]),
            None,
            float(info["created_at"]),
            info.get("deadline_at"),
            str(info.get("via") or "storage"),
        )
        try:
            pod: dict[str, Any] = self._get(attempt)
            gone = False
        except NotFound:
            pod, gone = dict(ctx.manifest), True
        timed_out = attempt.deadline_at is not None and time.time() >= attempt.deadline_at
        status = self._status(ctx, attempt, pod, gone=gone, ours=False, timed_out=timed_out)
        verdict = self._decide(ctx, status)
        if gone and not verdict.terminal:
            return Verdict(TaskPhase.FAILED, "PodDeleted", "the pod disappeared", retryable=True)
        return verdict

    # -- steps ----------------------------------------------------------------------------
    def _start(
        self, ctx: AttemptContext, sub: Subscription | None
    ) -> tuple[_Attempt, dict[str, Any]]:
        options = self._options(ctx)
        cluster = self._cluster(options)
        namespace = self._namespace(cluster, options)
        remote = self._remote(options, ctx.run_id)
        via = self._via(cluster, options)
        manifest, mode = self._manifest(ctx, cluster, namespace, remote, via)
        io: IoConfigMap | None = None
        bundle: bytes | None = None
        inputs = b""
        if via == "api":
            bundle = self._bundle(ctx, options)
            inputs = Path(ctx.inputs_path).read_bytes()
            api_io.check_api_size(bundle, inputs)
            io = IoConfigMap(cluster, namespace, str(manifest["metadata"]["name"]))
        if remote is not None:
            self._upload_inputs(ctx, manifest, remote)
        now = time.time()
        deadline_at = None
        if ctx.deadline is not None:
            deadline_at = now + (ctx.deadline - time.monotonic())
        name = str(manifest["metadata"]["name"])
        attempt = _Attempt(cluster, namespace, name, mode, remote, now, deadline_at, via)
        state = read_state(ctx.run_dir.path)
        state["options"] = {k: getattr(options, k) for k in _KEPT if getattr(options, k)}
        state["options"]["namespace"] = namespace
        state.setdefault("attempts", {})[str(ctx.attempt)] = {
            "pod": name,
            "namespace": namespace,
            "mode": mode,
            "created_at": now,
            "deadline_at": deadline_at,
            "via": via,
        }
        write_json_atomic(_state_path(ctx), state)
        if io is not None:
            io.create(manifest["metadata"].get("labels") or {}, bundle, inputs)
        try:
            pod = self._create(attempt, manifest, ctx)
            # What describe shows is the pod as sent (entrypoint, volumes, env, deadline),
            # not the task's manifest before the engine shaped it.
            write_atomic(ctx.run_dir.pod_yaml, to_yaml(manifest))
        except BaseException:
            if io is not None:
                io.delete()
            raise
        if io is not None:
            io.owned_by(pod)
        return attempt, pod

    def _upload_inputs(
        self, ctx: AttemptContext, manifest: dict[str, Any], remote: RemoteStore
    ) -> None:
        remote.delete("outputs")  # a previous attempt's documents must not be mistaken for ours
        if ctx.attempt == 1 or remote.get_bytes(INPUTS_FILE) is None:
            remote.put_bytes(INPUTS_FILE, Path(ctx.inputs_path).read_bytes())
        env = next(c for c in manifest["spec"]["containers"] if c.get("name") == ctx.primary).get(
            "env", []
        )
        if any(e.get("name") == ENV_CODE_URL for e in env) and (
            ctx.attempt == 1 or remote.get_bytes(CODE_BUNDLE) is None
        ):
            include = self._options(ctx).ship_code_include
            bundle = make_code_bundle(Path(ctx.source_root), include=include, notice=ctx.notice)
            remote.put_bytes(CODE_BUNDLE, bundle)

    def _create(
        self, attempt: _Attempt, manifest: dict[str, Any], ctx: AttemptContext
    ) -> dict[str, Any]:
        core = attempt.cluster.core
        try:
            response = with_retries(
                lambda: core.create_namespaced_pod(
                    attempt.namespace, manifest, _preload_content=False
                ),
                verb="create",
                resource="pods",
                namespace=attempt.namespace,
                server=attempt.cluster.server,
                retry_conflict=False,
            )
        except SpecError as exc:
            # Name the field in the user's spec, not in the reshaped pod that was sent.
            raise SpecError(
                exc.reason,
                field=user_field(exc.field, manifest, ctx.declared or ctx.manifest),
                hint=exc.hint
                or "fix the pod spec; podtask compile --engine kubernetes checks early",
            ) from exc
        except Conflict:
            # A retried create whose first try succeeded: adopt the pod if it is ours.
            pod = self._get(attempt)
            labels = (pod.get("metadata") or {}).get("labels") or {}
            if labels.get(LABEL_RUN) == ctx.run_id and labels.get(LABEL_ATTEMPT) == str(
                ctx.attempt
            ):
                return pod
            raise InfrastructureError(
                f"a pod named {attempt.pod_name!r} already exists in namespace "
                f"{attempt.namespace!r} and is not this run's"
            ) from None
        try:
            data: dict[str, Any] = json.loads(response.data)
        finally:
            response.release_conn()
        return data

    def _get(self, attempt: _Attempt) -> dict[str, Any]:
        core = attempt.cluster.core
        response = with_retries(
            lambda: core.read_namespaced_pod(
                attempt.pod_name, attempt.namespace, _preload_content=False
            ),
            verb="get",
            resource="pods",
            namespace=attempt.namespace,
            name=attempt.pod_name,
            server=attempt.cluster.server,
        )
        try:
            data: dict[str, Any] = json.loads(response.data)
        finally:
            response.release_conn()
        return data

    def _delete(self, attempt: _Attempt, *, grace: float) -> bool:
        """Delete the pod; False when it was already gone.  Errors other than 404 propagate."""
        core = attempt.cluster.core
        try:
            with_retries(
                lambda: discard(
                    core.delete_namespaced_pod(
                        attempt.pod_name,
                        attempt.namespace,
                        grace_period_seconds=max(0, math.ceil(grace)),
                        _preload_content=False,
                    )
                ),
                verb="delete",
                resource="pods",
                namespace=attempt.namespace,
                name=attempt.pod_name,
                server=attempt.cluster.server,
            )
        except NotFound:
            return False
        return True

    # -- following -------------------------------------------------------------------------
    def _status(
        self,
        ctx: AttemptContext,
        attempt: _Attempt,
        pod: dict[str, Any],
        *,
        gone: bool,
        ours: bool,
        timed_out: bool = False,
        aborted: bool = False,
    ) -> PodStatus:
        return adapt.pod_status(
            pod,
            primary=ctx.primary,
            managed=attempt.mode == "managed",
            deleted_by_us=ours,
            gone=gone,
            timed_out=timed_out,
            aborted=aborted,
            pending_since=attempt.created_at,
            now=time.time(),
        )

    def _decide(
        self, ctx: AttemptContext, status: PodStatus, pod: dict[str, Any] | None = None
    ) -> Verdict:
        grace = ctx.options(KubernetesOptions).image_pull_grace
        if grace is None:
            grace = self.image_pull_grace
        if pod is not None and adapt.permanent_pull_error(pod):
            grace = 0.0  # no amount of waiting makes a missing image appear
        return decide(status, sidecar_failure=ctx.sidecar_failure, image_pull_grace=grace)

    def _follow(
        self,
        ctx: AttemptContext,
        attempt: _Attempt,
        sub: Subscription,
        pod: dict[str, Any] | None,
    ) -> AttemptOutcome:
        gone = pod is None
        doc: dict[str, Any] = pod or dict(ctx.manifest)
        reporter = _Reporter(ctx)
        streams = LogStreams(
            attempt.cluster.core,
            attempt.namespace,
            attempt.pod_name,
            log_path=ctx.run_dir.log_path,
            attempt=ctx.attempt,
        )
        try:
            return self._follow_pod(ctx, attempt, sub, doc, gone, reporter, streams)
        finally:
            streams.close()

    def _follow_pod(
        self,
        ctx: AttemptContext,
        attempt: _Attempt,
        sub: Subscription,
        doc: dict[str, Any],
        gone: bool,
        reporter: _Reporter,
        streams: LogStreams,
    ) -> AttemptOutcome:
        deadline = ctx.deadline
        if deadline is None and attempt.deadline_at is not None:
            deadline = time.monotonic() + (attempt.deadline_at - time.time())

        def drain(wait: float) -> None:
            nonlocal doc, gone
            event = sub.get(wait)
            while event is not None:
                if event.type == ERROR and event.error is not None:
                    raise translate(
                        event.error,
                        verb="watch",
                        resource="pods",
                        namespace=attempt.namespace,
                        server=attempt.cluster.server,
                    ) from event.error
                if event.type == DELETED:
                    gone = True
                elif event.type == GONE:
                    # Inferred from a re-LIST that lacked the pod: confirm before believing
                    # it, since a run that thinks its pod gone never deletes it.
                    try:
                        event = PodEvent(MODIFIED, self._get(attempt))
                    except NotFound:
                        gone = True
                if event.pod is not None:
                    new, old = _rv(event.pod), _rv(doc)
                    if new is None or old is None or new >= old or event.type == DELETED:
                        doc = event.pod
                event = sub.get(0)

        watcher = watcher_for(attempt.cluster, attempt.namespace)
        asked = 0.0  # time.monotonic() of the last direct GET while the watch was failing

        def still_reachable() -> None:
            """A GET while the watch has long failed: EngineUnreachable when it fails too."""
            nonlocal doc, gone, asked
            since = watcher.failing_since
            now = time.monotonic()
            if since is None or now - max(since, asked) < UNREACHABLE_AFTER:
                return
            asked = now
            try:
                doc = self._get(attempt)
            except NotFound:
                gone = True

        while True:
            still_reachable()
            timed_out = deadline is not None and time.monotonic() >= deadline
            aborted = ctx.cancel.is_set()
            status = self._status(
                ctx, attempt, doc, gone=gone, ours=False, timed_out=timed_out, aborted=aborted
            )
            verdict = self._decide(ctx, status, doc)
            reporter.report(status.containers)
            for c in status.containers:
                if c.state in ("running", "terminated"):
                    streams.start(c.name)  # live `[container] line` output, one request each
            if verdict.terminal:
                break
            if gone:  # vanished without a verdict (e.g. an eviction with no statuses yet)
                verdict = Verdict(
                    TaskPhase.FAILED,
                    "PodDeleted",
                    "the pod disappeared before the primary container ended",
                    retryable=True,
                    system=True,
                )
                break
            drain(TICK)

        decided = status  # what the verdict was read from (the pod's Events may add to it)
        stop_at: dict[str, float] = {}
        if not gone:
            primary = status.container(ctx.primary)
            if (
                verdict.phase is TaskPhase.SUCCEEDED or (primary and primary.finished_at)
            ) and not adapt.is_finished(doc):
                # The pod stops its own sidecars now (native / managed): give it the time,
                # so their logs are complete and the pod is seen to finish on its own.
                until = time.monotonic() + min(ctx.grace, FINISH_WAIT_MAX) + 5
                while not adapt.is_finished(doc) and not gone and time.monotonic() < until:
                    if ctx.cancel.is_set():
                        break
                    drain(TICK)
            if not gone:
                finished = adapt.is_finished(doc)
                if finished:  # every stream has ended or is ending: complete them now
                    self._save_logs(ctx, attempt, streams, doc, reread=True)
                else:
                    stop_at = _stop_signals(ctx, attempt, doc)
                grace = 0.0 if finished or ctx.hurry.is_set() else ctx.grace
                if self._delete(attempt, grace=grace):
                    until = time.monotonic() + grace + DELETE_WAIT_EXTRA
                    while not gone and time.monotonic() < until:
                        if grace > 0 and ctx.hurry.is_set():  # a second Ctrl-C: kill it now
                            grace = 0.0
                            self._delete(attempt, grace=grace)
                            until = time.monotonic() + DELETE_WAIT_EXTRA
                        drain(TICK)
                    if not gone:
                        ctx.notice(
                            f"kubernetes engine: pod {attempt.pod_name} is still being deleted"
                        )
                if not finished:  # the streams carried what the containers wrote while stopping
                    self._save_logs(ctx, attempt, streams, doc)
                final = self._status(
                    ctx,
                    attempt,
                    doc,
                    gone=gone,
                    ours=True,
                    timed_out=verdict.reason == "Timeout",
                    aborted=verdict.phase is TaskPhase.ABORTED,
                )
                reporter.report(final.containers)
                if verdict.phase is not TaskPhase.SUCCEEDED and not verdict.sidecar_issues:
                    # The first decisive verdict wins: what the kubelet reports while tearing
                    # down after our own delete (ContainerStatusUnknown for containers that
                    # never started, 143 for the stopped primary) only adds detail.
                    again = self._decide(ctx, final)
                    if again.sidecar_issues:
                        verdict = dataclasses.replace(verdict, sidecar_issues=again.sidecar_issues)
                status = final
        else:
            lost = [n for n in container_names(doc) if not streams.started(n)]
            self._save_logs(ctx, attempt, streams, doc)
            self._note_lost_logs(ctx, lost)
        if verdict.phase not in (TaskPhase.SUCCEEDED, TaskPhase.ABORTED):
            verdict, status = self._with_events(ctx, attempt, doc, decided, verdict, status)
        self._fetch_outputs(ctx, attempt)
        if attempt.via == "api":
            verdict = api_io.read_results(ctx, doc, verdict)
        return AttemptOutcome(verdict=verdict, containers=status.containers, stop_signal_at=stop_at)

    def _with_events(
        self,
        ctx: AttemptContext,
        attempt: _Attempt,
        doc: dict[str, Any],
        decided: PodStatus,
        verdict: Verdict,
        status: PodStatus,
    ) -> tuple[Verdict, PodStatus]:
        """A failed attempt: list the pod's Events once, record them for ``describe``, and
        let the kubelet's words name a probe kill the status shows only as 137/143 Error."""
        events, why_not = pod_events.list_pod_events(
            attempt.cluster.core, attempt.namespace, doc, server=attempt.cluster.server
        )
        if events is None:
            ctx.notice(f"kubernetes engine: the pod's events were not read: {why_not}")
            return verdict, status
        now = time.time()
        for event in events:
            ctx.on_event(event.as_run_event(ctx.attempt, now))
        primary = decided.container(ctx.primary)
        unhealthy = pod_events.probe_kill(events, ctx.primary)
        if unhealthy is None or not pod_events.needs_events(primary):
            return verdict, status

        def told(s: PodStatus) -> PodStatus:
            containers = tuple(
                dataclasses.replace(c, unhealthy=unhealthy) if c.name == ctx.primary else c
                for c in s.containers
            )
            return dataclasses.replace(s, containers=containers)

        again = self._decide(ctx, told(decided))
        if again.reason == UNHEALTHY:
            verdict = dataclasses.replace(again, sidecar_issues=verdict.sidecar_issues)
        return verdict, told(status)

    def _save_logs(
        self,
        ctx: AttemptContext,
        attempt: _Attempt,
        streams: LogStreams,
        doc: dict[str, Any],
        *,
        reread: bool = False,
    ) -> None:
        names = container_names(doc)
        problems = streams.finish(names, reread=reread)
        if attempt.remote is not None:
            problems.update(upload_logs(names, ctx.run_dir.log_path, attempt.remote))
        for name, problem in problems.items():
            ctx.notice(f"kubernetes engine: log of {name!r} not saved: {problem}")

    def _note_lost_logs(self, ctx: AttemptContext, names: list[str]) -> None:
        for name in names:
            with open(ctx.run_dir.log_path(name), "a") as f:
                f.write(
                    f"----- podtask: attempt {ctx.attempt}: the pod was deleted before "
                    "its logs could be read -----\n"
                )

    def _fetch_outputs(self, ctx: AttemptContext, attempt: _Attempt) -> None:
        remote = attempt.remote
        if remote is None:
            return
        out = Path(ctx.output_prefix)
        out.mkdir(parents=True, exist_ok=True)
        outputs = remote.child("outputs")
        error = outputs.get_bytes(ERROR_FILE)
        if error is not None:
            (out / ERROR_FILE).write_bytes(error)
        outputs.get_tree("blobs", out / "blobs")
        data = outputs.get_bytes(OUTPUTS_FILE)
        if data is not None:
            text = data.decode().replace(outputs.url, str(out))
            write_json_atomic(out / OUTPUTS_FILE, json.loads(text))


def _storage_io(store: RemoteStore, run_id: str, pod: str) -> tuple[str, str]:
    """The run's inputs and outputs under ``--storage`` (as ``_remote`` and the upload)."""
    remote = store.child(run_id)
    return remote.join(INPUTS_FILE), remote.join("outputs")


def _merged(given: KubernetesOptions, run_dir: Path) -> KubernetesOptions:
    """The run's options; a resumed run (``attach``) keeps where its pods are."""
    saved = read_state(run_dir).get("options") or {}
    kept = {k: v for k, v in saved.items() if k in _KEPT and getattr(given, k) is None}
    return dataclasses.replace(given, **kept)


def _version(cluster: Cluster) -> tuple[int, int]:
    """The cluster's version; a cluster that does not answer is EngineUnavailable."""
    try:
        return cluster.version()
    except EngineUnreachable as exc:
        raise EngineUnreachable(f"{exc} (is the cluster up? check --context)") from exc
    except EngineUnavailable:
        raise
    except InfrastructureError as exc:
        raise EngineUnavailable(f"{exc} (is the cluster up? check --context)") from exc


def _stop_signals(ctx: AttemptContext, attempt: _Attempt, doc: dict[str, Any]) -> dict[str, float]:
    """Record a stop signal for each container that runs now, just before podtask's delete
    signals it; a container that already ended on its own (a native sidecar the kubelet
    stopped once the primary exited) was not stopped by podtask and gets no event."""
    now = time.time()
    stop_at: dict[str, float] = {}
    managed = attempt.mode == "managed"
    for c in adapt.container_statuses(doc, primary=ctx.primary, managed=managed):
        if c.state == "running":
            stop_at[c.name] = now
            ctx.on_event(
                {
                    "event": "stop-signal",
                    "container": c.name,
                    "signal": "SIGTERM",
                    "attempt": ctx.attempt,
                    "time": now,
                }
            )
    return stop_at


def _set_follower(ctx: AttemptContext, on: bool) -> None:
    """Say in the run's state file which process follows it, so `podtask runs` keeps off."""
    state = read_state(ctx.run_dir.path)
    if not state and not on:
        return
    if on:
        pid, start = current_process_identity()
        state["follower"] = {"pid": pid, "start": start}
    else:
        state.pop("follower", None)
    write_json_atomic(_state_path(ctx), state)


def _follower_alive(state: dict[str, Any]) -> bool:
    follower = state.get("follower") or {}
    pid = follower.get("pid")
    if not pid:
        return False
    return process_alive(int(pid), int(follower.get("start") or 0))


def _best_time(kubelet: float | None, seen: float) -> dict[str, Any]:
    """The finer of the kubelet's time and the moment podtask saw the change, and its source.

    A real kubelet reports whole seconds, so the true moment lies in
    ``[kubelet, kubelet + 1)``; podtask sees a change a little after it happens.
    When podtask saw it within that second, its own clock is the closer bound
    (``watch``); otherwise (a change seen late, e.g. by ``attach``) the kubelet's
    time stands (``kubelet``), as does a kubelet time with fractions.
    """
    if kubelet is None:
        return {"time": seen, "time_source": "watch"}
    if kubelet != int(kubelet) or not kubelet <= seen < kubelet + 1:
        return {"time": kubelet, "time_source": "kubelet"}
    return {"time": seen, "time_source": "watch"}


class _Reporter:
    """Calls ``on_status`` when something changed and records started/exited events."""

    def __init__(self, ctx: AttemptContext) -> None:
        self.ctx = ctx
        self.last: tuple[ContainerStatus, ...] | None = None
        self.states: dict[str, str] = {}

    def report(self, containers: tuple[ContainerStatus, ...]) -> None:
        if containers == self.last:
            return
        now = time.time()  # when the watch brought this state: see _best_time
        self.last = containers
        for c in containers:
            before = self.states.get(c.name)
            if before == c.state:
                continue
            self.states[c.name] = c.state
            if c.state == "running":
                event: dict[str, Any] = {"event": "started", "container": c.name}
                event.update(_best_time(c.started_at, now))
            elif c.state == "terminated":
                event = {
                    "event": "exited",
                    "container": c.name,
                    "exit_code": c.exit_code,
                    "signal": c.signal,
                    "reason": c.reason,
                    "message": c.message,
                }
                event.update(_best_time(c.finished_at, now))
            else:
                continue
            event["attempt"] = self.ctx.attempt
            self.ctx.on_event(event)
        self.ctx.on_status(containers)


__all__ = ["STATE_FILE", "KubernetesEngine", "read_state"]
