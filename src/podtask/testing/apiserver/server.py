"""The HTTP side: Kubernetes REST for Pods (Namespaces, ConfigMaps) on 127.0.0.1 only.

Stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 over TLS with keep-alive
(who may call it and how: ``access``), because that is what the
``kubernetes`` client (urllib3) and kubectl expect: JSON bodies with a
Content-Length, chunked streams for watches and followed logs.
One thread per connection is plenty for a test server and keeps watches
simple (each blocks on its own queue).

Routes: ``/version``, ``/api``, ``/apis``, ``/api/v1``,
``/apis/testing.podtask.dev/v1`` (discovery);
``/api/v1/namespaces[/{ns}]``; ``/api/v1/namespaces/{ns}/pods[/{name}[/log|/status]]``;
``/api/v1/pods``; ``/api/v1[/namespaces/{ns}]/configmaps[/{name}]``;
``/api/v1[/namespaces/{ns}]/events[/{name}]`` (read only: the kubelet writes them);
``/podtask-test/faults`` and ``/podtask-test/requests``
(test control, never counted); ``/healthz``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import secrets
import select
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from podtask._contract import grace_of
from podtask.testing.apiserver import (
    access,
    admission,
    configmaps,
    events,
    patches,
    scheduler,
    validation,
)
from podtask.testing.apiserver.errors import (
    ApiError,
    already_exists,
    bad_request,
    bad_rv,
    conflict,
    expired,
    invalid,
    invalid_list_options,
    method_not_allowed,
    not_found,
    precondition_failed,
    too_large_rv,
)
from podtask.testing.apiserver.faults import Faults
from podtask.testing.apiserver.kubelet import CRASH_BACKOFF, Kubelet, PodWorker
from podtask.testing.apiserver.logtimes import LogTimes, lines_with_times, rfc3339nano
from podtask.testing.apiserver.podstatus import ts
from podtask.testing.apiserver.selectors import selector
from podtask.testing.apiserver.store import Store, Watcher
from podtask.testing.apiserver.tables import TABLES, as_table, wants_table

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
VERBS = ("create", "get", "list", "watch", "delete", "deletecollection", "patch", "update", "log")
CONTEXT = "podtask-test"
GC_FINALIZERS = ("foregroundDeletion", "orphan")
KINDS = {"pods": "Pod", "namespaces": "Namespace", "configmaps": "ConfigMap", "events": "Event"}

#: What a real server lists for a plain namespaced object (pods, configmaps).
OBJECT_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

DISCOVERY_V1 = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "pods",
            "singularName": "pod",
            "namespaced": True,
            "kind": "Pod",
            "verbs": OBJECT_VERBS,
            "shortNames": ["po"],
            "categories": ["all"],
        },
        {
            "name": "pods/eviction",
            "singularName": "",
            "namespaced": True,
            "group": "policy",
            "version": "v1",
            "kind": "Eviction",
            "verbs": ["create"],
        },
        {
            "name": "pods/log",
            "singularName": "",
            "namespaced": True,
            "kind": "Pod",
            "verbs": ["get"],
        },
        {
            "name": "pods/status",
            "singularName": "",
            "namespaced": True,
            "kind": "Pod",
            "verbs": ["get"],
        },
        {
            "name": "configmaps",
            "singularName": "configmap",
            "namespaced": True,
            "kind": "ConfigMap",
            "verbs": OBJECT_VERBS,
            "shortNames": ["cm"],
        },
        {
            "name": "events",
            "singularName": "event",
            "namespaced": True,
            "kind": "Event",
            "verbs": ["get", "list", "watch"],
            "shortNames": ["ev"],
        },
        {
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["create", "get", "list", "watch"],
            "shortNames": ["ns"],
        },
    ],
}


HOST_FILES_GROUP = "testing.podtask.dev"
HOST_FILES_VERSION = f"{HOST_FILES_GROUP}/v1"
# Discovery is how this server says that its pods see this machine's files (a
# hostPath is this host's path, the primary's outputs land here), so a client
# may run without shipping code or storage. A real cluster answers 404 here.
DISCOVERY_HOST_FILES = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": HOST_FILES_VERSION,
    "resources": [
        {
            "name": "hostfiles",
            "singularName": "hostfile",
            "namespaced": False,
            "kind": "HostFiles",
            "verbs": [],
        }
    ],
}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: ApiServer

    tls: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS handshake in the connection's own thread, so a silent client blocks no one."""
        request.settimeout(30)
        conn = self.tls.wrap_socket(request, server_side=True)
        try:
            conn.settimeout(None)
            super().finish_request(conn, client_address)
        finally:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (a dropped watch, a retry) or failing TLS is normal here."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ssl.SSLError)):
            return
        if isinstance(sys.exc_info()[1], (TimeoutError, ConnectionAbortedError, EOFError)):
            return
        super().handle_error(request, client_address)


class ApiServer:
    """A Kubernetes API server for Pods whose pods run on the local engine.

    Use ``with ApiServer.start() as srv:`` in tests; ``srv.kubeconfig_path``
    points ``kubernetes.config.load_kube_config`` or ``kubectl --kubeconfig``
    at it. Only ever listens on 127.0.0.1. ``crash_backoff=(first, most)``
    shortens the kubelet's restart back-off (10 s doubling to 300 s, the
    first restart at once) for tests that need many restarts.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        version: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        history_size: int = 10000,
        namespaces: tuple[str, ...] = DEFAULT_NAMESPACES,
        schema_validation: bool = True,
        bookmark_interval: float = 5.0,
        watch_timeout: float = 1800.0,
        node_name: str = "podtask-node",
        host_files: bool = True,
        crash_backoff: tuple[float, float] | None = None,
    ) -> None:
        version = version or validation.default_version()
        if not version.startswith("v") or len(version.lstrip("v").split(".")) < 2:
            raise ValueError(f"version must look like v1.30.0, not {version!r}")
        self.version = version
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="podtask-apiserver-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Pods' service-account volumes hold the token: owner only, like the kubeconfig.
        (self.state_dir / "pods").mkdir(mode=0o700, exist_ok=True)
        (self.state_dir / "pods").chmod(0o700)
        self.kubeconfig_path = Path(kubeconfig) if kubeconfig else self.state_dir / "kubeconfig"
        self.schema_validation = schema_validation
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.node_name = node_name
        self.host_files = host_files  # False: play a cluster that does not share files
        # The one credential: only the kubeconfig this server writes (mode 0600) holds it.
        self.token = secrets.token_urlsafe(32)
        self.store = Store(history_size)
        self.events = events.Recorder(self.store, node_name)
        self.faults = Faults(self)
        self._counts: dict[str, int] = dict.fromkeys(VERBS, 0)
        self._counts_lock = threading.Lock()
        self._lock = threading.RLock()  # orders deletions against pods finishing
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self.kubelet = Kubelet(
            state_dir=self.state_dir,
            sink=self._set_status,
            pull_check=self.faults.image_pull_error,
            node_name=node_name,
            record=self.events.kubelet,
            on_finished=self._pod_finished,
            lookup=lambda ns, name: self.store.get("configmaps", (ns, name)),
            api_port=lambda: self.port,
            token=self.token,
            crash_backoff=crash_backoff or CRASH_BACKOFF,
            serve_api=lambda conn, addr: self._httpd.process_request(conn, addr),
            host_files=host_files,
        )
        self.certificate = access.Certificate.make(self.state_dir / "tls")
        for ns in namespaces:
            self.create_namespace(ns)
        # A real cluster's history starts long before any client: resourceVersion 1 is
        # compacted away there, and a watch from it gets 410, so here too.
        self.store.compact()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.api = self
        self._httpd.tls = self.certificate.server_context()
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------
    @classmethod
    def start(cls, **kwargs: Any) -> ApiServer:
        """Create, serve in a background thread, write the kubeconfig; see ``__init__``."""
        srv = cls(**kwargs)
        srv.serve_in_background()
        return srv

    def serve_in_background(self) -> None:
        self.write_kubeconfig(self.kubeconfig_path)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="apiserver"
        )
        self._thread.daemon = True
        self._thread.start()

    def serve_forever(self) -> None:
        self.write_kubeconfig(self.kubeconfig_path)
        self._httpd.serve_forever(poll_interval=0.2)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """Trusts this server's certificate: pass it to ``urllib.request.urlopen(context=)``."""
        return self.certificate.client_context()

    def stop(self) -> None:
        """Stop serving, kill every pod (no orphans), remove the temp state dir."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self.store.drop_watches()
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self.kubelet.shutdown()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: str | os.PathLike[str]) -> Path:
        """A kubeconfig with one context, ``podtask-test``, as current, holding the token.

        Written owner-only (0600) and atomically: the token in it is what lets
        a client run pods as root on this machine.
        """
        ca = base64.b64encode(self.certificate.cert.read_bytes()).decode()
        text = (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {CONTEXT}\n  cluster:\n    server: {self.url}\n"
            f"    certificate-authority-data: {ca}\n"
            f"contexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n"
            f"    user: {CONTEXT}\n    namespace: default\n"
            f"current-context: {CONTEXT}\n"
            f"users:\n- name: {CONTEXT}\n  user:\n    token: {self.token}\n"
        )
        return access.write_private(Path(path), text)

    @property
    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header a raw HTTP client (urllib, curl) must send."""
        return {"Authorization": f"Bearer {self.token}"}

    # -- counters --------------------------------------------------------------------
    @property
    def requests(self) -> dict[str, int]:
        """Pod API requests served so far, by verb (``log`` = ``pods/log`` reads)."""
        with self._counts_lock:
            return dict(self._counts)

    def reset_requests(self) -> None:
        with self._counts_lock:
            self._counts = dict.fromkeys(VERBS, 0)

    def _count(self, verb: str) -> None:
        with self._counts_lock:
            self._counts[verb] = self._counts.get(verb, 0) + 1

    # -- namespaces ----------------------------------------------------------------------
    def create_namespace(self, name: str) -> dict[str, Any]:
        if not validation.is_subdomain(name) or len(name) > 63 or "." in name:
            raise invalid(
                "Namespace",
                name,
                [
                    (
                        "metadata.name",
                        "FieldValueInvalid",
                        f'Invalid value: "{name}": {validation.LABEL_MSG}',
                    )
                ],
            )
        obj = {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": ts(),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        created = self.store.create("namespaces", ("", name), obj)
        if created is None:
            raise already_exists("namespaces", name)
        self._publish_root_ca(name)
        return created

    def _publish_root_ca(self, namespace: str) -> None:
        """Every namespace holds ``kube-root-ca.crt`` (the CA pods trust the API with), as the
        root-ca-cert-publisher controller keeps it; the service-account volume reads it."""
        body = {
            "metadata": {"name": admission.ROOT_CA},
            "data": {"ca.crt": self.certificate.cert.read_text()},
        }
        obj = configmaps.validate(body, namespace)
        self.store.create("configmaps", (namespace, admission.ROOT_CA), obj)

    def _require_namespace(self, ns: str) -> None:
        if self.store.get("namespaces", ("", ns)) is None:
            raise not_found("namespaces", ns)

    # -- pods: the Python side ------------------------------------------------------------
    def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.get("pods", (namespace, name))

    def wait_for_pod(
        self, namespace: str, name: str, condition: Any, timeout: float = 30.0
    ) -> dict[str, Any] | None:
        """Poll until ``condition(pod_or_None)`` is true; returns the last pod seen."""
        deadline = time.monotonic() + timeout
        while True:
            pod = self.get_pod(namespace, name)
            if condition(pod):
                return pod
            if time.monotonic() > deadline:
                raise TimeoutError(f"pod {namespace}/{name}: condition not met in {timeout}s")
            time.sleep(0.05)

    def create_pod(
        self,
        namespace: str,
        body: Any,
        *,
        field_validation: str = "Warn",
        manager: str = "podtask-test",
    ) -> tuple[dict[str, Any], list[str]]:
        self._require_namespace(namespace)
        obj, warnings = validation.validate_pod(
            body,
            namespace,
            k8s_version=self.version,
            schema=self.schema_validation,
            field_validation=field_validation,
        )
        obj = admission.admit(validation.apply_defaults(obj, namespace), manager)
        name = obj["metadata"]["name"]
        created = self.store.create("pods", (namespace, name), obj)
        if created is None:
            raise already_exists("pods", name)
        self._schedule(created)
        return created, warnings

    def _schedule(self, pod: dict[str, Any]) -> None:
        """Bind the pod to our one node and hand it to the kubelet, or say why it cannot be.

        A pod that names another node is left alone, as the scheduler leaves it (no
        kubelet of that name will ever take it)."""
        key, uid = _key(pod), pod["metadata"]["uid"]
        wanted = pod["spec"].get("nodeName")
        if wanted and wanted != self.node_name:
            return
        if not wanted and not scheduler.fits(pod["spec"], self.node_name):

            def unschedulable(o: dict[str, Any]) -> None:
                o["status"]["conditions"] = [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "lastProbeTime": None,
                        "lastTransitionTime": ts(),
                        "reason": "Unschedulable",
                        "message": scheduler.NO_FIT,
                    }
                ]

            self.store.update("pods", key, unschedulable, uid=uid)
            self.events.scheduler(pod, events.WARNING, "FailedScheduling", scheduler.NO_FIT)
            return

        def bind(o: dict[str, Any]) -> None:
            o["spec"]["nodeName"] = self.node_name
            o["status"]["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": ts(),
                }
            ]

        bound = self.store.update("pods", key, bind, uid=uid) if not wanted else pod
        if bound is not None:
            if not wanted:
                self.events.scheduler(
                    bound,
                    events.NORMAL,
                    "Scheduled",
                    f"Successfully assigned {key[0]}/{key[1]} to {self.node_name}",
                )
            self.kubelet.admit(bound)

    def delete_pod(
        self,
        namespace: str,
        name: str,
        grace: float | None = None,
        *,
        preconditions: dict[str, Any] | None = None,
        propagation: str | None = None,
    ) -> dict[str, Any]:
        """Delete as the API server + kubelet do: graceful while running, else at once.

        ``propagation`` Foreground or Orphan puts the garbage collector's finalizer on the
        pod until it goes (a pod owns nothing, so the collector then simply lets it go)."""
        finalizer = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(propagation or "")
        with self._lock:
            pod = self.store.get("pods", (namespace, name))
            if pod is None:
                raise not_found("pods", name)
            meta = pod["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise precondition_failed("Pod", name, "UID", pre["uid"], meta["uid"])
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise precondition_failed(
                    "Pod", name, "ResourceVersion", pre["resourceVersion"], meta["resourceVersion"]
                )
            uid = meta["uid"]
            if grace is None:
                grace = grace_of(pod)
            grace = max(0.0, grace)
            worker = self.kubelet.worker(uid)
            phase = (pod.get("status") or {}).get("phase")
            immediate = (
                grace == 0
                or phase in ("Succeeded", "Failed")
                or worker is None
                or worker.finished.is_set()
            )
            if immediate:
                marked = self._delete_now(namespace, name, uid, finalizer)
                if worker is not None:
                    worker.request_stop(0.0)
                    if worker.finished.is_set():
                        self.kubelet.forget(uid)
                return marked or pod

            def mark(o: dict[str, Any]) -> None:
                m = o["metadata"]
                old = m.get("deletionGracePeriodSeconds")
                if old is None:
                    m["generation"] = int(m.get("generation", 1)) + 1  # as the API server
                if old is None or grace < old:
                    m["deletionGracePeriodSeconds"] = int(grace)
                    m["deletionTimestamp"] = ts(time.time() + grace)
                if finalizer and finalizer not in (m.get("finalizers") or []):
                    m["finalizers"] = [*(m.get("finalizers") or []), finalizer]

            updated = self.store.update("pods", (namespace, name), mark, uid=uid)
        assert worker is not None  # not immediate, so there is a running worker
        worker.request_stop(grace)
        return updated or pod

    def _delete_now(
        self, namespace: str, name: str, uid: str, finalizer: str | None = None
    ) -> dict[str, Any] | None:
        """Remove a pod as the API server does once nothing needs a grace period: a
        MODIFIED with ``deletionGracePeriodSeconds: 0`` (returned), the garbage
        collector's finalizers taken off, then DELETED."""

        def mark(o: dict[str, Any]) -> None:
            meta = o["metadata"]
            meta["deletionGracePeriodSeconds"] = 0
            meta.setdefault("deletionTimestamp", ts())
            if finalizer and finalizer not in (meta.get("finalizers") or []):
                meta["finalizers"] = [*(meta.get("finalizers") or []), finalizer]

        def collected(o: dict[str, Any]) -> None:
            meta = o["metadata"]
            kept = [f for f in meta.get("finalizers") or [] if f not in GC_FINALIZERS]
            if kept:
                meta["finalizers"] = kept
            else:
                meta.pop("finalizers", None)

        marked = self.store.update("pods", (namespace, name), mark, uid=uid)
        finalizers = ((marked or {}).get("metadata") or {}).get("finalizers") or []
        orphan = "orphan" in finalizers
        if "foregroundDeletion" in finalizers:
            self._collect_garbage(namespace, uid)  # dependents first, then the owner
        self.store.update("pods", (namespace, name), collected, uid=uid)
        if self.store.delete("pods", (namespace, name), uid=uid) is not None:
            self._collect_garbage(namespace, uid, orphan=orphan)
        return marked

    def _collect_garbage(self, namespace: str, owner_uid: str, *, orphan: bool = False) -> None:
        """What the garbage collector does once an owner goes: a ConfigMap with no owner
        left is deleted; one that keeps another owner, or whose owner was deleted with
        ``propagationPolicy: Orphan``, only loses the reference to it."""
        owned, _rv = self.store.select(
            "configmaps",
            namespace,
            lambda o: any(
                ref.get("uid") == owner_uid
                for ref in o.get("metadata", {}).get("ownerReferences") or []
            ),
        )
        for cm in owned:
            refs = cm["metadata"].get("ownerReferences") or []
            left = [r for r in refs if r.get("uid") != owner_uid]
            if orphan or any(self._owner_exists(namespace, r) for r in left):

                def drop(o: dict[str, Any], left: list[dict[str, Any]] = left) -> None:
                    if left:
                        o["metadata"]["ownerReferences"] = left
                    else:
                        o["metadata"].pop("ownerReferences", None)

                self.store.update("configmaps", _key(cm), drop, uid=cm["metadata"]["uid"])
            else:
                self.store.delete("configmaps", _key(cm), uid=cm["metadata"]["uid"])

    def _owner_exists(self, namespace: str, ref: dict[str, Any]) -> bool:
        """The owner a reference names is there (same uid); kinds this server does not
        serve are taken to exist, as the collector leaves what it cannot resolve."""
        resource = {"Pod": "pods", "ConfigMap": "configmaps"}.get(str(ref.get("kind")))
        if resource is None or ref.get("apiVersion") != "v1":
            return True
        found = self.store.get(resource, (namespace, str(ref.get("name"))))
        return found is not None and found["metadata"].get("uid") == ref.get("uid")

    def collect_if_orphaned(self, obj: dict[str, Any]) -> None:
        """A ConfigMap written with owner references none of which exists any more is
        deleted by the collector (shortly after; here at once)."""
        refs = obj["metadata"].get("ownerReferences") or []
        ns = str(obj["metadata"]["namespace"])
        if refs and not any(self._owner_exists(ns, r) for r in refs):
            self.store.delete("configmaps", _key(obj), uid=obj["metadata"]["uid"])

    def evict_pod(self, namespace: str, name: str, message: str) -> None:
        pod = self.store.get("pods", (namespace, name))
        if pod is None:
            raise not_found("pods", name)
        worker = self.kubelet.worker(pod["metadata"]["uid"])
        if worker is None or worker.finished.is_set():
            raise bad_request(f'pod "{name}" is not running')
        worker.request_stop(0.0, reason=("Evicted", message))

    def evict_via_api(self, namespace: str, name: str, body: Any) -> None:
        """``POST pods/NAME/eviction`` (policy/v1): no PodDisruptionBudget here, so always
        allowed: a ``DisruptionTarget`` condition, then a graceful delete, as the API server."""
        if isinstance(body, dict) and body.get("kind") not in (None, "Eviction"):
            raise bad_request(f'{body.get("kind")} in version "v1" cannot be handled as a Eviction')
        pod = self.store.get("pods", (namespace, name))
        if pod is None:
            raise not_found("pods", name)
        options = (body or {}).get("deleteOptions") or {} if isinstance(body, dict) else {}
        grace = options.get("gracePeriodSeconds")
        reason, message = "EvictionByEvictionAPI", "Eviction API: evicting"
        worker = self.kubelet.worker(pod["metadata"]["uid"])
        if worker is not None and not worker.finished.is_set():
            worker.disrupt(reason, message)  # the kubelet keeps reporting it

        def condition(o: dict[str, Any]) -> None:
            conds = [
                c for c in o["status"].get("conditions") or [] if c["type"] != "DisruptionTarget"
            ]
            cond = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None}
            cond.update(lastTransitionTime=ts(), reason=reason, message=message)
            o["status"]["conditions"] = [cond, *conds]

        self.store.update("pods", (namespace, name), condition, uid=pod["metadata"]["uid"])
        self.delete_pod(
            namespace,
            name,
            None if grace is None else float(grace),
            preconditions=options.get("preconditions"),
        )

    def drop_watches(self) -> int:
        return self.store.drop_watches()

    # -- kubelet callbacks ------------------------------------------------------------------
    def _set_status(self, ns: str, name: str, uid: str, status: dict[str, Any]) -> bool:
        def put(o: dict[str, Any]) -> None:
            qos = (o.get("status") or {}).get("qosClass")
            o["status"] = {**status, "qosClass": qos} if qos else dict(status)
            # What a v1.36 kubelet adds: the generation it acted on, here and per condition.
            gen = o["metadata"].get("generation", 1)
            o["status"]["observedGeneration"] = gen
            o["status"]["conditions"] = [
                c if c.get("type") == "DisruptionTarget" else {**c, "observedGeneration": gen}
                for c in o["status"].get("conditions") or []
            ]
            o["status"].setdefault("resources", {})

        return self.store.update("pods", (ns, name), put, uid=uid) is not None

    def _pod_finished(self, worker: PodWorker) -> None:
        with self._lock:
            pod = self.store.get("pods", (worker.namespace, worker.name))
            alive = pod is not None and pod["metadata"]["uid"] == worker.uid
            if alive and pod is not None and pod["metadata"].get("deletionTimestamp"):
                self._delete_now(worker.namespace, worker.name, worker.uid)
                alive = False
            if not alive:
                self.kubelet.forget(worker.uid)


def _one(q: dict[str, list[str]], key: str) -> str | None:
    values = q.get(key)
    return values[-1] if values else None


def _truthy(q: dict[str, list[str]], key: str) -> bool:
    return (_one(q, key) or "").lower() in ("true", "1")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "podtask-apiserver"
    _ctype = "application/json"
    # As a real API server (Go's net/http sets TCP_NODELAY): without it, an answer written
    # in two sends waits for the client's delayed ACK, 40 ms on every request.
    disable_nagle_algorithm = True

    # -- plumbing ------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        with self.server.api._conn_lock:
            self.server.api._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.api._conn_lock:
            self.server.api._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the CLI print what matters

    def _body(self, method: str) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw and method == "DELETE":
            return None  # a DELETE without options has no body to type
        ctype = access.check_content_type(self.headers.get("Content-Type"), method)
        self._ctype = ctype  # how a PATCH body is to be applied
        if not raw:
            return None
        return access.decode_body(raw, ctype)

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, _dumps(obj), headers=headers)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _manager(self) -> str:
        """The field manager a real server records: the client's User-Agent program name."""
        agent = (self.headers.get("User-Agent") or "unknown").split("/", 1)[0]
        return agent.strip() or "unknown"

    def _client_gone(self) -> bool:
        """True once the client closed its end (peeked on the raw socket under TLS)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                with socket.socket(fileno=os.dup(self.connection.fileno())) as raw:
                    return bool(raw.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True
        return False

    # -- dispatch --------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        api = self.server.api
        parts = urlsplit(self.path)
        q = parse_qs(parts.query, keep_blank_values=True)
        seg = [s for s in parts.path.split("/") if s]
        try:
            access.check_host(self.headers.get("Host"))
            if not access.is_public(method, seg):
                access.check_token(self.headers.get("Authorization"), api.token)
            body = None
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                body = self._body(method)
            if seg and seg[0] == "podtask-test":
                self._control(method, seg[1:], body)
            elif seg[:2] == ["api", "v1"] and len(seg) > 2:
                self._core(method, seg[2:], q, body)
            elif method == "GET" and seg and seg[0] in ("healthz", "livez", "readyz"):
                self._send(200, b"ok", "text/plain")
            elif method == "GET":
                self._json(200, self._static(seg))
            else:
                raise method_not_allowed(method)
        except ApiError as exc:
            with contextlib.suppress(OSError):
                self._json(exc.code, exc.body, exc.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a server bug: answer as the real server would
            from podtask.testing.apiserver.errors import internal

            err = internal(f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(OSError):
                self._json(500, err.body)
        if api._stopping.is_set():
            self.close_connection = True

    def _static(self, seg: list[str]) -> Any:
        api = self.server.api
        if seg == ["version"]:
            major, minor = api.version.lstrip("v").split(".")[:2]
            return {
                "major": major,
                "minor": minor,
                "gitVersion": api.version,
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2024-01-01T00:00:00Z",
                "goVersion": "go1.22.0",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if seg == ["api"]:
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{api.port}"}
                ],
            }
        if seg == ["apis"]:
            groups = []
            if api.host_files:
                version = {"groupVersion": HOST_FILES_VERSION, "version": "v1"}
                groups.append(
                    {"name": HOST_FILES_GROUP, "versions": [version], "preferredVersion": version}
                )
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if seg == ["apis", HOST_FILES_GROUP, "v1"] and api.host_files:
            return DISCOVERY_HOST_FILES
        if seg == ["api", "v1"]:
            return DISCOVERY_V1
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    # -- control endpoints --------------------------------------------------------------------
    def _control(self, method: str, seg: list[str], body: Any) -> None:
        api = self.server.api
        if seg == ["faults"] and method == "POST":
            try:
                self._json(200, api.faults.apply(body or {}))
            except (ValueError, KeyError, TypeError) as exc:
                raise bad_request(f"bad fault request: {exc}") from exc
        elif seg == ["requests"] and method == "GET":
            self._json(200, api.requests)
        elif seg == ["requests"] and method == "DELETE":
            api.reset_requests()
            self._json(200, api.requests)
        else:
            raise ApiError(404, "NotFound", "unknown test endpoint")

    # -- /api/v1/... -------------------------------------------------------------------------
    def _core(self, method: str, seg: list[str], q: dict[str, list[str]], body: Any) -> None:
        api = self.server.api
        if seg[0] == "watch":  # legacy /api/v1/watch/... paths
            seg = seg[1:]
            q["watch"] = ["true"]
        if seg in (["pods"], ["configmaps"], ["events"]):
            if method != "GET":
                raise method_not_allowed(method)
            self._list_or_watch(seg[0], None, q)
            return
        if seg[0] != "namespaces":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if len(seg) == 1:
            verb = {"GET": "watch" if _truthy(q, "watch") else "list", "POST": "create"}.get(method)
            if verb is None:
                raise method_not_allowed(method)
            api.faults.check(verb, verb, "namespaces", None, None)
            if verb == "create":
                name = str(((body or {}).get("metadata") or {}).get("name", ""))
                self._json(201, api.create_namespace(name))
            else:
                self._list_or_watch("namespaces", None, q)
            return
        ns = seg[1]
        if len(seg) == 2:
            if method != "GET":
                raise method_not_allowed(method)
            api.faults.check("get", "get", "namespaces", None, ns)
            obj = api.store.get("namespaces", ("", ns))
            if obj is None:
                raise not_found("namespaces", ns)
            self._json(200, obj)
            return
        if seg[2] == "configmaps" and len(seg) <= 4:
            self._configmaps(method, ns, seg[3] if len(seg) == 4 else None, q, body)
            return
        if seg[2] == "events" and len(seg) <= 4:
            self._events(method, ns, seg[3] if len(seg) == 4 else None, q)
            return
        if seg[2] != "pods":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if len(seg) == 3:
            self._pods(method, ns, q, body)
        elif len(seg) == 4:
            self._pod(method, ns, seg[3], q, body)
        elif len(seg) == 5 and seg[4] == "log" and method == "GET":
            api._count("log")
            api.faults.check("log", "get", "pods/log", ns, seg[3])
            self._log(ns, seg[3], q)
        elif len(seg) == 5 and seg[4] == "eviction" and method == "POST":
            api.faults.check("eviction", "create", "pods/eviction", ns, seg[3])
            api.evict_via_api(ns, seg[3], body)
            self._json(
                201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            )
        elif len(seg) == 5 and seg[4] == "status" and method == "GET":
            api._count("get")
            api.faults.check("get", "get", "pods/status", ns, seg[3])
            pod = api.store.get("pods", (ns, seg[3]))
            if pod is None:
                raise not_found("pods", seg[3])
            self._json(200, pod)
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _pods(self, method: str, ns: str, q: dict[str, list[str]], body: Any) -> None:
        api = self.server.api
        if method == "GET":
            self._list_or_watch("pods", ns, q)
        elif method == "POST":
            api._count("create")
            api.faults.check("create", "create", "pods", ns, None)
            if _one(q, "dryRun") == "All":
                api._require_namespace(ns)
                obj, warnings = validation.validate_pod(
                    body,
                    ns,
                    k8s_version=api.version,
                    schema=api.schema_validation,
                    field_validation=_one(q, "fieldValidation") or "Warn",
                )
                defaulted = admission.admit(validation.apply_defaults(obj, ns), self._manager())
                self._json(201, defaulted, _warning_headers(warnings))
                return
            obj, warnings = api.create_pod(
                ns,
                body,
                field_validation=_one(q, "fieldValidation") or "Warn",
                manager=self._manager(),
            )
            self._json(201, obj, _warning_headers(warnings))
        elif method == "DELETE":
            api._count("deletecollection")
            api.faults.check("deletecollection", "deletecollection", "pods", ns, None)
            match = selector(_one(q, "labelSelector"), _one(q, "fieldSelector"), "pods")
            items, _rv = api.store.select("pods", ns, match)
            grace = _grace(q, body)
            out = []
            for p in items:
                with contextlib.suppress(ApiError):
                    out.append(api.delete_pod(ns, p["metadata"]["name"], grace))
            self._json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": out})
        else:
            raise method_not_allowed(method)

    def _configmaps(
        self, method: str, ns: str, name: str | None, q: dict[str, list[str]], body: Any
    ) -> None:
        """ConfigMaps: create, get, list, watch, delete (one or a collection), as Kubernetes."""
        api = self.server.api
        verb = {
            ("GET", False): "watch" if _truthy(q, "watch") else "list",
            ("POST", False): "create",
            ("DELETE", False): "deletecollection",
            ("GET", True): "get",
            ("DELETE", True): "delete",
            ("PATCH", True): "patch",
            ("PUT", True): "update",
        }.get((method, name is not None))
        if verb is None:
            raise method_not_allowed(method)
        api.faults.check(f"configmaps:{verb}", verb, "configmaps", ns, name)
        if verb in ("list", "watch"):
            self._list_or_watch("configmaps", ns, q)
            return
        api._require_namespace(ns)
        dry = _one(q, "dryRun") == "All" or (
            isinstance(body, dict) and body.get("dryRun") == ["All"]
        )
        if verb == "create":
            obj = configmaps.validate(body, ns)
            if not dry:
                created = api.store.create("configmaps", (ns, obj["metadata"]["name"]), obj)
                if created is None:
                    raise already_exists("configmaps", obj["metadata"]["name"])
                obj = created
            self._json(201, obj)
            if not dry:
                api.collect_if_orphaned(obj)
            return
        if verb == "deletecollection":
            match = selector(_one(q, "labelSelector"), _one(q, "fieldSelector"), "configmaps")
            items, _rv = api.store.select("configmaps", ns, match)
            out = items
            if not dry:
                deleted = (
                    api.store.delete("configmaps", _key(o), uid=o["metadata"]["uid"]) for o in items
                )
                out = [o for o in deleted if o is not None]
            self._json(
                200, {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": out}
            )
            return
        assert name is not None
        found = api.store.get("configmaps", (ns, name))
        if found is None:
            raise not_found("configmaps", name)
        obj = found
        if verb == "get":
            self._json(200, obj)
            return
        if verb in ("patch", "update"):
            self._json(200, self._write_configmap(ns, name, verb, body, dry))
            return
        pre = (body.get("preconditions") or {}) if isinstance(body, dict) else {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise precondition_failed("ConfigMap", name, "UID", pre["uid"], obj["metadata"]["uid"])
        if (
            not dry
            and api.store.delete("configmaps", (ns, name), uid=obj["metadata"]["uid"]) is None
        ):
            raise not_found("configmaps", name)
        self._json(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "kind": "configmaps", "uid": obj["metadata"]["uid"]},
            },
        )

    def _rewrite(
        self,
        resource: str,
        ns: str,
        name: str,
        compute: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        dry: bool = False,
    ) -> dict[str, Any]:
        """Store ``compute(old)`` in place of the object, atomically; an ApiError it raises
        answers the request and changes nothing; ``dry``: checked, not stored."""
        api = self.server.api
        error: list[ApiError] = []
        result: list[dict[str, Any]] = []

        def change(o: dict[str, Any]) -> bool:
            try:
                new = compute(o)
            except ApiError as exc:
                error.append(exc)
                return False
            result.append(new)
            if dry:
                return False
            o.clear()
            o.update(new)
            return True

        out = api.store.update(resource, (ns, name), change)
        if error:
            raise error[0]
        if out is None:
            raise not_found(resource, name)
        return result[0] if dry else out

    def _write_configmap(
        self, ns: str, name: str, verb: str, body: Any, dry: bool
    ) -> dict[str, Any]:
        """PATCH (any of the four types) or PUT (409 on a stale resourceVersion)."""
        api = self.server.api

        def compute(o: dict[str, Any]) -> dict[str, Any]:
            if verb == "update":
                if not isinstance(body, dict):
                    raise bad_request("the body of the request was in an unknown format")
                _check_rv("configmaps", name, body, o)
                new = dict(body)
            else:
                new = patches.apply(o, body, self._ctype)
            return configmaps.validate_update(o, new, ns)

        out = self._rewrite("configmaps", ns, name, compute, dry=dry)
        if not dry:
            api.collect_if_orphaned(out)
        return out

    def _events(self, method: str, ns: str, name: str | None, q: dict[str, list[str]]) -> None:
        """Events: get, list, watch (what a client reads; the kubelet and scheduler write)."""
        api = self.server.api
        if method != "GET":
            raise method_not_allowed(method)
        verb = "get" if name is not None else "watch" if _truthy(q, "watch") else "list"
        api.faults.check(f"events:{verb}", verb, "events", ns, name)
        if name is None:
            self._list_or_watch("events", ns, q)
            return
        found = api.store.get("events", (ns, name))
        if found is None:
            raise not_found("events", name)
        self._json(200, found)

    def _pod(self, method: str, ns: str, name: str, q: dict[str, list[str]], body: Any) -> None:
        api = self.server.api
        if method == "GET":
            api._count("get")
            api.faults.check("get", "get", "pods", ns, name)
            pod = api.store.get("pods", (ns, name))
            if pod is None:
                raise not_found("pods", name)
            self._json(200, pod)
        elif method == "DELETE":
            api._count("delete")
            api.faults.check("delete", "delete", "pods", ns, name)
            opts = body if isinstance(body, dict) else {}
            if _one(q, "dryRun") == "All" or opts.get("dryRun") == ["All"]:
                pod = api.store.get("pods", (ns, name))
                if pod is None:
                    raise not_found("pods", name)
                self._json(200, pod)
                return
            self._json(
                200,
                api.delete_pod(
                    ns,
                    name,
                    _grace(q, body),
                    preconditions=opts.get("preconditions"),
                    propagation=_one(q, "propagationPolicy") or opts.get("propagationPolicy"),
                ),
            )
        elif method in ("PATCH", "PUT"):
            verb = "patch" if method == "PATCH" else "update"
            api._count(verb)
            api.faults.check(verb, verb, "pods", ns, name)
            self._json(200, self._update(ns, name, method, body))
        else:
            raise method_not_allowed(method)

    def _update(self, ns: str, name: str, method: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) and not (method == "PATCH" and isinstance(body, list)):
            raise bad_request("the body of the request was in an unknown format")

        def compute(o: dict[str, Any]) -> dict[str, Any]:
            new = patches.apply(o, body, self._ctype) if method == "PATCH" else dict(body)
            if method == "PUT" and isinstance(body, dict):
                _check_rv("pods", name, body, o)
                new["status"] = o.get("status")
                new["metadata"] = {**o["metadata"], **(new.get("metadata") or {})}
                new["metadata"]["resourceVersion"] = o["metadata"]["resourceVersion"]
            validation.check_update(o, new)
            return new

        return self._rewrite("pods", ns, name, compute)

    # -- list and watch ----------------------------------------------------------------------
    def _list_or_watch(self, resource: str, ns: str | None, q: dict[str, list[str]]) -> None:
        api = self.server.api
        watching = _truthy(q, "watch")
        verb = "watch" if watching else "list"
        if resource == "pods":
            api._count(verb)
            api.faults.check(verb, verb, "pods", ns, None)
        match = selector(_one(q, "labelSelector"), _one(q, "fieldSelector"), resource)
        table = wants_table(self.headers.get("Accept") or "") and resource in TABLES
        include = _one(q, "includeObject") or "Metadata"
        if watching:
            self._watch(resource, ns, q, match, table, include)
            return
        items, rv, meta = self._list_items(resource, ns, q, match)
        if table:
            self._json(200, as_table(resource, items, str(rv), include))
            return
        kind = KINDS[resource] + "List"
        stripped = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
        self._json(200, {"kind": kind, "apiVersion": "v1", "metadata": meta, "items": stripped})

    def _list_items(
        self, resource: str, ns: str | None, q: dict[str, list[str]], match: Any
    ) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
        """The page a list answers, with resourceVersion and continue semantics as Kubernetes:
        rv ``0`` is served from the cache (whole, ``limit`` ignored), ``Exact`` and continue
        tokens are snapshots (410 once compacted), a future rv is a 504 after ~3 s."""
        api = self.server.api
        store = api.store
        rv_text = _one(q, "resourceVersion") or ""
        rv_match = _one(q, "resourceVersionMatch") or ""
        start = _one(q, "continue") or ""
        wanted = _parse_rv(rv_text) if rv_text else None
        if rv_match and not rv_text:
            raise invalid_list_options(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            )
        if rv_match not in ("", "Exact", "NotOlderThan"):
            raise invalid_list_options(
                "resourceVersionMatch",
                "FieldValueNotSupported",
                f'Unsupported value: "{rv_match}": supported values: "Exact", "NotOlderThan"',
            )
        if wanted:
            _wait_for_rv(store, wanted)
        at: int | None = wanted if rv_match == "Exact" and wanted else None
        after: tuple[str, str] | None = None
        if start:
            try:
                token = json.loads(base64.urlsafe_b64decode(start.encode()))
                at, after = int(token["rv"]), (str(token["after"][0]), str(token["after"][1]))
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise bad_request(
                    f"invalid continue token: continue key is not valid: {exc}"
                ) from exc
        if at is not None and at < store.compacted:
            raise expired(
                "The resourceVersion for the provided list is too old."
                if not start
                else "The provided continue parameter is too old to display a consistent list"
                " result. You can start a new list without the continue parameter."
            )
        if at is not None:
            items, rv = store.select_at(resource, ns, match, at), at
        else:
            items, rv = store.select(resource, ns, match)
        if after is not None:
            items = [o for o in items if _key(o) > after]
        limit = int(_one(q, "limit") or 0)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if rv_text == "0" and not start:
            limit = 0  # served from the watch cache, which ignores limit
        if limit and len(items) > limit:
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
            token = {"rv": rv, "after": list(_key(items[-1]))}
            meta["continue"] = base64.urlsafe_b64encode(_dumps(token)).decode()
        return items, rv, meta

    def _watch(
        self,
        resource: str,
        ns: str | None,
        q: dict[str, list[str]],
        match: Any,
        table: bool,
        include: str,
    ) -> None:
        api = self.server.api
        rv_text = _one(q, "resourceVersion") or ""
        since = None if rv_text in ("", "0") else _parse_rv(rv_text)
        timeout = float(_one(q, "timeoutSeconds") or api.watch_timeout)
        bookmarks = _truthy(q, "allowWatchBookmarks")
        ctype = "application/json"
        self._start_stream(ctype)
        try:
            if since is not None:
                _wait_for_rv(api.store, since)  # a future rv: 200, then one ERROR event (504)
            w, first = api.store.watch(resource, ns, match, since)
        except ApiError as exc:  # 410 or 504: one ERROR event, then the stream ends (as the cacher)
            self._chunk(_dumps({"type": "ERROR", "object": exc.body}) + b"\n")
            self._end_stream()
            return
        try:
            self._stream_watch(w, first, timeout, bookmarks, table, include, since)
        finally:
            api.store.unwatch(w)

    def _stream_watch(
        self,
        w: Watcher,
        first: list[tuple[str, dict[str, Any]]],
        timeout: float,
        bookmarks: bool,
        table: bool,
        include: str,
        since: int | None,
    ) -> None:
        api = self.server.api
        sent_columns = False
        last_rv = since or 0

        def send(kind: str, obj: dict[str, Any]) -> None:
            nonlocal sent_columns
            if table and kind != "BOOKMARK":
                rv = obj.get("metadata", {}).get("resourceVersion", "")
                obj = as_table(w.resource, [obj], rv, include, columns=not sent_columns)
                sent_columns = True
            self._chunk(_dumps({"type": kind, "object": obj}) + b"\n")

        for kind, obj in first:
            send(kind, obj)
            last_rv = max(last_rv, int(obj["metadata"].get("resourceVersion", 0)))
        last_rv = max(last_rv, api.store.rv if since is None else last_rv)
        now = time.monotonic()
        end = now + timeout
        next_bookmark = now + api.bookmark_interval
        while True:
            now = time.monotonic()
            if now >= end or api._stopping.is_set():
                break
            wait = min(end, next_bookmark if bookmarks else end, now + 1.0) - now
            try:
                change = w.changes.get(timeout=max(wait, 0.0))
            except queue.Empty:
                change = None
            if w.closed.is_set():  # dropped on purpose: cut the connection, no clean end
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if change is not None:
                last_rv = max(last_rv, change.rv)
                ev = w.translate(change)
                if ev is not None:
                    send(*ev)
                continue
            if bookmarks and time.monotonic() >= next_bookmark:
                next_bookmark = time.monotonic() + api.bookmark_interval
                kind_name = KINDS[w.resource]
                send(
                    "BOOKMARK",
                    {
                        "kind": kind_name,
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(last_rv)},
                    },
                )
            if self._client_gone():
                self.close_connection = True
                return
        self._end_stream()

    # -- logs -------------------------------------------------------------------------
    def _log(self, ns: str, name: str, q: dict[str, list[str]]) -> None:
        api = self.server.api
        pod = api.store.get("pods", (ns, name))
        if pod is None:
            raise not_found("pods", name)
        spec = pod["spec"]
        regular = [c["name"] for c in spec.get("containers") or []]
        inits = [c["name"] for c in spec.get("initContainers") or []]
        container = _one(q, "container")
        if not container:
            if len(regular) != 1:
                extra = f" or one of the init containers: [{' '.join(inits)}]" if inits else ""
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of:"
                    f" [{' '.join(regular)}]{extra}"
                )
            container = regular[0]
        if container not in regular and container not in inits:
            raise bad_request(f"container {container} is not valid for pod {name}")
        status = pod.get("status") or {}
        cstat = next(
            (
                s
                for s in [
                    *(status.get("containerStatuses") or []),
                    *(status.get("initContainerStatuses") or []),
                ]
                if s.get("name") == container
            ),
            None,
        )
        worker = api.kubelet.worker(pod["metadata"]["uid"])
        path = worker.log_path(container) if worker is not None else None
        if path is None or not path.exists():
            reason = ((cstat or {}).get("state", {}).get("waiting") or {}).get(
                "reason", "ContainerCreating"
            )
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {reason}'
            )
        options = _log_options(name, q)
        previous = _truthy(q, "previous")
        span = worker.log_range(container, previous) if worker is not None else (0, None)
        if span is None or (previous and not (cstat or {}).get("restartCount")):
            raise bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        start, end = span
        with path.open("rb") as fh:
            fh.seek(start)
            data = fh.read() if end is None else fh.read(max(0, end - start))
        read_to = start + len(data)
        stamps = _truthy(q, "timestamps")
        if worker is not None and (stamps or options["sinceSeconds"] is not None):
            data = _stamped(data, start, path, worker.log_times, stamps, options["sinceSeconds"])
        if options["tailLines"] is not None:
            n = options["tailLines"]
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n > 0 else b""
        if options["limitBytes"] is not None:
            data = data[: options["limitBytes"]]
        if previous or end is not None or not _truthy(q, "follow"):
            self._send(200, data, "text/plain")
            return
        assert worker is not None
        self._start_stream("text/plain")
        self._chunk(data)
        with path.open("rb") as fh:
            fh.seek(read_to)
            for chunk in _follow(fh, worker, container, api._stopping):
                if stamps and chunk:
                    chunk = _stamped(chunk, read_to, path, worker.log_times, True, None)
                read_to += len(chunk)
                self._chunk(chunk)
                if self._client_gone():
                    self.close_connection = True
                    return
        self._end_stream()


#: How long a followed log stays open after its container stopped: on a v1.36 cluster the
#: kubelet ended it 1.0 s after the container's last line and exit
#: (docs: real-cluster/api-diff-real-vs-test-server.txt, "follow chunks").
FOLLOW_END_DELAY = 1.0


def _follow(fh: Any, worker: PodWorker, container: str, stop: threading.Event) -> Iterator[bytes]:
    """New bytes of a log file until its container stops running and the file is drained,
    and then ``FOLLOW_END_DELAY`` more: a real kubelet ends the stream about then."""
    stopped_at: float | None = None
    while not stop.is_set():
        running = worker.is_running(container)
        chunk = fh.read(65536)
        if chunk:
            yield chunk
            continue
        if not running:
            stopped_at = stopped_at or time.monotonic()
            if time.monotonic() - stopped_at >= FOLLOW_END_DELAY:
                return
        yield b""
        time.sleep(0.1)


def _check_rv(resource: str, name: str, body: dict[str, Any], old: dict[str, Any]) -> None:
    """An update (PUT) made from a stale read is a 409, as optimistic concurrency has it."""
    rv = (body.get("metadata") or {}).get("resourceVersion")
    if rv and rv != old["metadata"]["resourceVersion"]:
        raise conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version"
            " and try again",
        )


def _parse_rv(text: str) -> int:
    if not text.isdigit():
        raise bad_rv(text)
    return int(text)


def _wait_for_rv(store: Store, wanted: int, patience: float = 3.0) -> None:
    """Wait a little for a resourceVersion the store has not reached, then 504, as the cacher."""
    deadline = time.monotonic() + patience
    while store.rv < wanted:
        if time.monotonic() >= deadline:
            raise too_large_rv(wanted, store.rv)
        time.sleep(0.05)


def _stamped(
    data: bytes,
    start: int,
    path: Path,
    times: LogTimes,
    stamps: bool,
    since: int | None,
) -> bytes:
    """The lines of ``data`` newer than ``since`` seconds, each prefixed with its time."""
    cutoff = None if since is None else time.time() - since
    out = []
    for line, when in lines_with_times(data, start, path, times):
        if cutoff is not None and when < cutoff:
            continue
        out.append(rfc3339nano(when).encode() + b" " + line if stamps else line)
    return b"".join(out)


def _log_options(pod: str, q: dict[str, list[str]]) -> dict[str, int | None]:
    """``tailLines``, ``limitBytes``, ``sinceSeconds``: integers, checked as PodLogOptions."""
    out: dict[str, int | None] = {}
    for key, low in (("tailLines", 0), ("limitBytes", 1), ("sinceSeconds", 1)):
        text = _one(q, key)
        if text is None:
            out[key] = None
            continue
        try:
            value = int(text)
        except ValueError as exc:
            raise bad_request(f'{key}: Invalid value: "{text}": must be an integer') from exc
        if value < low:
            word = "greater than or equal to 0" if low == 0 else "greater than 0"
            cause = (key, "FieldValueInvalid", f"Invalid value: {value}: must be {word}")
            raise invalid("PodLogOptions", pod, [cause])
        out[key] = value
    return out


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


def _grace(q: dict[str, list[str]], body: Any) -> float | None:
    value = _one(q, "gracePeriodSeconds")
    if value is None and isinstance(body, dict):
        value = body.get("gracePeriodSeconds")
    return None if value is None else float(value)


def _warning_headers(warnings: list[str]) -> dict[str, str]:
    if not warnings:
        return {}
    quoted = (w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings)
    return {"Warning": ", ".join(f'299 - "{w}"' for w in quoted)}
