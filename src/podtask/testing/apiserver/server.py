"""The HTTP side: Kubernetes REST for Pods (and Namespaces) on 127.0.0.1 only.

Stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, because
that is what the ``kubernetes`` client (urllib3) and kubectl expect: JSON
bodies with a Content-Length, chunked streams for watches and followed logs.
One thread per connection is plenty for a test server and keeps watches
simple (each blocks on its own queue).

Routes: ``/version``, ``/api``, ``/apis``, ``/api/v1`` (discovery);
``/api/v1/namespaces[/{ns}]``; ``/api/v1/namespaces/{ns}/pods[/{name}[/log|/status]]``;
``/api/v1/pods``; ``/podtask-test/faults`` and ``/podtask-test/requests``
(test control, never counted); ``/healthz``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from podtask._contract import grace_of
from podtask.testing.apiserver import validation
from podtask.testing.apiserver.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    method_not_allowed,
    not_found,
)
from podtask.testing.apiserver.faults import Faults
from podtask.testing.apiserver.kubelet import Kubelet, PodWorker
from podtask.testing.apiserver.podstatus import ts
from podtask.testing.apiserver.selectors import selector
from podtask.testing.apiserver.store import Store, Watcher
from podtask.testing.apiserver.tables import pod_table, wants_table

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
VERBS = ("create", "get", "list", "watch", "delete", "deletecollection", "patch", "update", "log")
CONTEXT = "podtask-test"

DISCOVERY_V1 = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "pods",
            "singularName": "pod",
            "namespaced": True,
            "kind": "Pod",
            "verbs": [
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
            "shortNames": ["po"],
            "categories": ["all"],
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
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["create", "get", "list", "watch"],
            "shortNames": ["ns"],
        },
    ],
}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: ApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (a dropped watch, a retry) is normal here; anything else is not."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class ApiServer:
    """A Kubernetes API server for Pods whose pods run on the local engine.

    Use ``with ApiServer.start() as srv:`` in tests; ``srv.kubeconfig_path``
    points ``kubernetes.config.load_kube_config`` or ``kubectl --kubeconfig``
    at it. Only ever listens on 127.0.0.1.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        version: str = "v1.30.0",
        state_dir: str | os.PathLike[str] | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        history_size: int = 10000,
        namespaces: tuple[str, ...] = DEFAULT_NAMESPACES,
        schema_validation: bool = True,
        bookmark_interval: float = 5.0,
        watch_timeout: float = 1800.0,
        node_name: str = "podtask-node",
    ) -> None:
        if not version.startswith("v") or len(version.lstrip("v").split(".")) < 2:
            raise ValueError(f"version must look like v1.30.0, not {version!r}")
        self.version = version
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="podtask-apiserver-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig_path = Path(kubeconfig) if kubeconfig else self.state_dir / "kubeconfig"
        self.schema_validation = schema_validation
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.node_name = node_name
        self.store = Store(history_size)
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
            on_finished=self._pod_finished,
        )
        for ns in namespaces:
            self.create_namespace(ns)
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.api = self
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
        return f"http://127.0.0.1:{self.port}"

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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def write_kubeconfig(self, path: str | os.PathLike[str]) -> Path:
        """An insecure-HTTP kubeconfig with one context, ``podtask-test``, as current."""
        text = (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {CONTEXT}\n  cluster:\n    server: {self.url}\n"
            f"contexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n"
            f"    user: {CONTEXT}\n    namespace: default\n"
            f"current-context: {CONTEXT}\n"
            f"users:\n- name: {CONTEXT}\n  user: {{}}\n"
        )
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

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
        return created

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
        self, namespace: str, body: Any, *, field_validation: str = "Warn"
    ) -> tuple[dict[str, Any], list[str]]:
        self._require_namespace(namespace)
        obj, warnings = validation.validate_pod(
            body,
            namespace,
            k8s_version=self.version,
            schema=self.schema_validation,
            field_validation=field_validation,
        )
        obj = validation.apply_defaults(obj, namespace)
        name = obj["metadata"]["name"]
        created = self.store.create("pods", (namespace, name), obj)
        if created is None:
            raise already_exists("pods", name)
        # The "scheduler" binds it to our one node, then the kubelet takes over.
        bound = self.store.update(
            "pods",
            (namespace, name),
            lambda o: o["spec"].__setitem__("nodeName", self.node_name),
            uid=obj["metadata"]["uid"],
        )
        if bound is not None:
            self.kubelet.admit(bound)
        return created, warnings

    def delete_pod(
        self,
        namespace: str,
        name: str,
        grace: float | None = None,
        *,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Delete as the API server + kubelet do: graceful while running, else at once."""
        with self._lock:
            pod = self.store.get("pods", (namespace, name))
            if pod is None:
                raise not_found("pods", name)
            meta = pod["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise conflict(
                    "pods",
                    name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta:"
                    f" {meta['uid']}",
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise conflict(
                    "pods",
                    name,
                    "Precondition failed: ResourceVersion in precondition:"
                    f" {pre['resourceVersion']}, ResourceVersion in object meta:"
                    f" {meta['resourceVersion']}",
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
                gone_obj = self.store.delete("pods", (namespace, name), uid=uid)
                if worker is not None:
                    worker.request_stop(0.0)
                    if worker.finished.is_set():
                        self.kubelet.forget(uid)
                return gone_obj or pod

            def mark(o: dict[str, Any]) -> None:
                m = o["metadata"]
                old = m.get("deletionGracePeriodSeconds")
                if old is None or grace < old:
                    m["deletionGracePeriodSeconds"] = int(grace)
                    m["deletionTimestamp"] = ts(time.time() + grace)

            updated = self.store.update("pods", (namespace, name), mark, uid=uid)
        assert worker is not None  # not immediate, so there is a running worker
        worker.request_stop(grace)
        return updated or pod

    def evict_pod(self, namespace: str, name: str, message: str) -> None:
        pod = self.store.get("pods", (namespace, name))
        if pod is None:
            raise not_found("pods", name)
        worker = self.kubelet.worker(pod["metadata"]["uid"])
        if worker is None or worker.finished.is_set():
            raise bad_request(f'pod "{name}" is not running')
        worker.request_stop(0.0, reason=("Evicted", message))

    def drop_watches(self) -> int:
        return self.store.drop_watches()

    # -- kubelet callbacks ------------------------------------------------------------------
    def _set_status(self, ns: str, name: str, uid: str, status: dict[str, Any]) -> bool:
        def put(o: dict[str, Any]) -> None:
            qos = (o.get("status") or {}).get("qosClass")
            o["status"] = {**status, "qosClass": qos} if qos else status

        return self.store.update("pods", (ns, name), put, uid=uid) is not None

    def _pod_finished(self, worker: PodWorker) -> None:
        with self._lock:
            pod = self.store.get("pods", (worker.namespace, worker.name))
            alive = pod is not None and pod["metadata"]["uid"] == worker.uid
            if alive and pod is not None and pod["metadata"].get("deletionTimestamp"):
                self.store.delete("pods", (worker.namespace, worker.name), uid=worker.uid)
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

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"the body of the request was in an unknown format: {exc}") from exc

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

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
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
            body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
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
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
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
        if seg == ["pods"]:
            if method != "GET":
                raise method_not_allowed(method)
            self._list_or_watch("pods", None, q)
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
                self._json(201, validation.apply_defaults(obj, ns), _warning_headers(warnings))
                return
            obj, warnings = api.create_pod(
                ns, body, field_validation=_one(q, "fieldValidation") or "Warn"
            )
            self._json(201, obj, _warning_headers(warnings))
        elif method == "DELETE":
            api._count("deletecollection")
            api.faults.check("deletecollection", "deletecollection", "pods", ns, None)
            match = selector(_one(q, "labelSelector"), _one(q, "fieldSelector"))
            items, _rv = api.store.select("pods", ns, match)
            grace = _grace(q, body)
            out = []
            for p in items:
                with contextlib.suppress(ApiError):
                    out.append(api.delete_pod(ns, p["metadata"]["name"], grace))
            self._json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": out})
        else:
            raise method_not_allowed(method)

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
                api.delete_pod(ns, name, _grace(q, body), preconditions=opts.get("preconditions")),
            )
        elif method in ("PATCH", "PUT"):
            verb = "patch" if method == "PATCH" else "update"
            api._count(verb)
            api.faults.check(verb, verb, "pods", ns, name)
            self._json(200, self._update(ns, name, method, body))
        else:
            raise method_not_allowed(method)

    def _update(self, ns: str, name: str, method: str, body: Any) -> dict[str, Any]:
        api = self.server.api
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if method == "PATCH" and ctype == "application/json-patch+json":
            raise ApiError(
                415, "UnsupportedMediaType", "json-patch is not supported by this test server"
            )
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        error: list[ApiError] = []

        def change(o: dict[str, Any]) -> bool:
            new = validation.merge_patch(o, body) if method == "PATCH" else dict(body)
            if method == "PUT":
                rv = (body.get("metadata") or {}).get("resourceVersion")
                if rv and rv != o["metadata"]["resourceVersion"]:
                    error.append(
                        conflict(
                            "pods",
                            name,
                            "the object has been modified; please apply your changes to the"
                            " latest version and try again",
                        )
                    )
                    return False
                new["status"] = o.get("status")
                new["metadata"] = {**o["metadata"], **(new.get("metadata") or {})}
                new["metadata"]["resourceVersion"] = o["metadata"]["resourceVersion"]
            try:
                validation.check_update(o, new)
            except ApiError as exc:
                error.append(exc)
                return False
            o.clear()
            o.update(new)
            return True

        out = api.store.update("pods", (ns, name), change)
        if error:
            raise error[0]
        if out is None:
            raise not_found("pods", name)
        return out

    # -- list and watch ----------------------------------------------------------------------
    def _list_or_watch(self, resource: str, ns: str | None, q: dict[str, list[str]]) -> None:
        api = self.server.api
        watching = _truthy(q, "watch")
        verb = "watch" if watching else "list"
        if resource == "pods":
            api._count(verb)
            api.faults.check(verb, verb, "pods", ns, None)
            if ns is not None:
                api._require_namespace(ns)
        match = selector(_one(q, "labelSelector"), _one(q, "fieldSelector"))
        table = wants_table(self.headers.get("Accept") or "") and resource == "pods"
        include = _one(q, "includeObject") or "Metadata"
        if watching:
            self._watch(resource, ns, q, match, table, include)
            return
        items, rv = api.store.select(resource, ns, match)
        limit = int(_one(q, "limit") or 0)
        start = _one(q, "continue")
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if start:
            try:
                after = json.loads(base64.urlsafe_b64decode(start.encode()))["after"]
            except (ValueError, KeyError) as exc:
                raise bad_request("continue key is not valid") from exc
            items = [o for o in items if _key(o) > tuple(after)]
        if limit and len(items) > limit:
            items = items[:limit]
            token = {"after": list(_key(items[-1]))}
            meta["continue"] = base64.urlsafe_b64encode(_dumps(token)).decode()
            meta["remainingItemCount"] = 0
        if table:
            self._json(200, pod_table(items, str(rv), include))
            return
        kind = "PodList" if resource == "pods" else "NamespaceList"
        stripped = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
        self._json(200, {"kind": kind, "apiVersion": "v1", "metadata": meta, "items": stripped})

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
        try:
            since = None if rv_text in ("", "0") else int(rv_text)
        except ValueError as exc:
            raise bad_request(f"invalid resource version: {rv_text}") from exc
        timeout = float(_one(q, "timeoutSeconds") or api.watch_timeout)
        bookmarks = _truthy(q, "allowWatchBookmarks")
        ctype = "application/json"
        self._start_stream(ctype)
        try:
            w, first = api.store.watch(resource, ns, match, since)
        except ApiError as exc:  # 410: one ERROR event, then the stream ends (as the cacher)
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
                obj = pod_table([obj], rv, include, columns=not sent_columns)
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
                kind_name = "Pod" if w.resource == "pods" else "Namespace"
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
        if _truthy(q, "previous") and not (cstat or {}).get("restartCount"):
            raise bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        data = path.read_bytes()
        tail = _one(q, "tailLines")
        if tail is not None:
            n = int(tail)
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n > 0 else b""
        limit = _one(q, "limitBytes")
        if limit is not None:
            data = data[: int(limit)]
        if not _truthy(q, "follow"):
            self._send(200, data, "text/plain")
            return
        assert worker is not None
        self._start_stream("text/plain")
        self._chunk(data)
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            for chunk in _follow(fh, worker, container, api._stopping):
                self._chunk(chunk)
                if self._client_gone():
                    self.close_connection = True
                    return
        self._end_stream()


def _follow(fh: Any, worker: PodWorker, container: str, stop: threading.Event) -> Iterator[bytes]:
    """New bytes of a log file until its container stops running and the file is drained."""
    while not stop.is_set():
        running = worker.is_running(container)
        chunk = fh.read(65536)
        if chunk:
            yield chunk
            continue
        if not running:
            return
        yield b""
        time.sleep(0.1)


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
    return {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)}
