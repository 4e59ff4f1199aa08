"""Loading the official client and connecting to a cluster, lazily and once per process.

``Cluster`` objects are cached by (kubeconfig, context) so that every run in a
process shares one connection pool and, per namespace, one watch.  The cache
holds nothing that needs resetting: a cluster is only configuration plus a
connection pool, and the watchers stop themselves when no run listens.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from podtask._errors import EngineUnavailable

INSTALL_HINT = "install it with: pip install 'podtask[kubernetes]'"
SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
#: The API group by which podtask's test API server says that its pods share this
#: machine's files (listed by ``GET /apis``); no real cluster serves it.
HOST_FILES_GROUP = "testing.podtask.dev"
#: Enough HTTP connections for many concurrent runs (the client's default is 5 per core).
POOL_SIZE = 64
#: Who is asking: the API server records it as the field manager of what podtask writes.
USER_AGENT = "podtask"
#: What every call answers in; the log endpoint answers text/plain (see ``CoreCalls``).
JSON = "application/json"


def load_client() -> ModuleType:
    """The ``kubernetes`` package, or ``EngineUnavailable`` with the install command."""
    try:
        import kubernetes
        import kubernetes.client
        import kubernetes.config
    except ImportError as exc:
        raise EngineUnavailable(
            f"the kubernetes engine needs the official Kubernetes client ({INSTALL_HINT})"
        ) from exc
    return kubernetes


class CoreCalls:
    """The few CoreV1 calls podtask makes, each one plain HTTP request.

    Why not ``kubernetes.client.CoreV1Api``: importing it builds hundreds of
    pydantic model classes (1.1 s on a 2-core machine, against 0.9 s for a whole
    raw kubectl cycle), and podtask reads every answer as raw JSON anyway.  The
    requests go out through ``transport``: the official ``ApiClient``
    (``OfficialTransport``: same headers, auth and token refresh, same pool as
    the generated methods) or, for a plain kubeconfig, ``direct.DirectTransport``.
    A non-2xx answer raises an exception carrying ``status`` and ``body``.  Each
    method takes the generated method's name and the keyword arguments podtask
    passes, and returns the raw ``urllib3`` response (as ``_preload_content=False``
    does); any other CoreV1Api method comes from the generated class, on an
    official ``ApiClient`` made by ``official`` on first use.
    """

    def __init__(self, transport: Any, official: Callable[[], Any]) -> None:
        self.transport = transport
        self._official = official
        self._generated: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._generated is None:
            self._generated = load_client().client.CoreV1Api(self._official())
        return getattr(self._generated, name)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = JSON,
        accept: str = JSON,
        timeout: Any = None,
    ) -> Any:
        """One request; the raw response, or an API exception for a non-2xx answer."""
        return self.transport.send(
            method,
            path,
            query=[(k, v) for k, v in query or [] if v is not None],
            body=body,
            content_type=content_type,
            accept=accept,
            timeout=timeout,
        )

    @staticmethod
    def _path(namespace: str, kind: str, name: str = "") -> str:
        from urllib.parse import quote

        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/{kind}"
        return f"{path}/{quote(name, safe='')}" if name else path

    def create_namespaced_pod(self, namespace: str, body: Any, **_: Any) -> Any:
        return self.request("POST", self._path(namespace, "pods"), body=body)

    def read_namespaced_pod(self, name: str, namespace: str, **_: Any) -> Any:
        return self.request("GET", self._path(namespace, "pods", name))

    def delete_namespaced_pod(
        self, name: str, namespace: str, *, grace_period_seconds: int | None = None, **_: Any
    ) -> Any:
        query = [("gracePeriodSeconds", grace_period_seconds)]
        return self.request("DELETE", self._path(namespace, "pods", name), query=query)

    def list_namespaced_pod(
        self,
        namespace: str,
        *,
        label_selector: str | None = None,
        watch: bool | None = None,
        resource_version: str | None = None,
        allow_watch_bookmarks: bool | None = None,
        timeout_seconds: int | None = None,
        _request_timeout: Any = None,
        **_: Any,
    ) -> Any:
        query = [
            ("labelSelector", label_selector),
            ("watch", watch),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", allow_watch_bookmarks),
            ("timeoutSeconds", timeout_seconds),
        ]
        path = self._path(namespace, "pods")
        return self.request("GET", path, query=query, timeout=_request_timeout)

    def list_namespaced_event(
        self, namespace: str, *, field_selector: str | None = None, **_: Any
    ) -> Any:
        query = [("fieldSelector", field_selector)]
        return self.request("GET", self._path(namespace, "events"), query=query)

    def read_namespaced_pod_log(
        self,
        name: str,
        namespace: str,
        *,
        container: str | None = None,
        follow: bool | None = None,
        **_: Any,
    ) -> Any:
        path = self._path(namespace, "pods", name) + "/log"
        query = [("container", container), ("follow", follow)]
        return self.request("GET", path, query=query, accept="text/plain")

    def create_namespaced_config_map(self, namespace: str, body: Any, **_: Any) -> Any:
        return self.request("POST", self._path(namespace, "configmaps"), body=body)

    def patch_namespaced_config_map(self, name: str, namespace: str, body: Any, **_: Any) -> Any:
        # A list is a JSON patch; an object is merged, as `kubectl patch` does by default.
        ctype = (
            "application/json-patch+json"
            if isinstance(body, list)
            else "application/strategic-merge-patch+json"
        )
        path = self._path(namespace, "configmaps", name)
        return self.request("PATCH", path, body=body, content_type=ctype)

    def delete_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> Any:
        return self.request("DELETE", self._path(namespace, "configmaps", name))


class OfficialTransport:
    """Requests through the official ``ApiClient``, as its generated methods send them."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]],
        body: Any,
        content_type: str,
        accept: str,
        timeout: Any,
    ) -> Any:
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(*request, _request_timeout=timeout)
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response.response


@dataclass
class Cluster:
    """One API server as configured: the client objects, the default namespace, the version."""

    api: Any  # kubernetes.client.ApiClient; None with a plain kubeconfig (see ``direct``)
    core: Any  # CoreCalls: the CoreV1Api methods podtask uses, without their import cost
    server: str
    default_namespace: str
    context: str | None
    kubeconfig: str | None
    _version: tuple[int, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    watchers: dict[str, Any] = field(default_factory=dict)  # namespace -> PodWatcher

    _host_files: bool | None = None

    def shares_host_files(self) -> bool:
        """The cluster says its pods see this machine's files (read once).

        Only a server whose discovery lists the API group ``testing.podtask.dev``
        (podtask's test API server, whose pods run on this machine) does.  An
        address on loopback proves nothing: kind and port-forwarded clusters
        listen there too, and their pods cannot read this machine's paths.
        """
        from podtask.engines.kubernetes.errors import with_retries

        with self._lock:
            if self._host_files is None:
                groups = with_retries(
                    lambda: _get_json(self.core, "/apis/"),
                    verb="get",
                    resource="apis",
                    namespace=None,
                    server=self.server,
                )
                self._host_files = any(
                    g.get("name") == HOST_FILES_GROUP for g in groups.get("groups") or []
                )
            return self._host_files

    def version(self) -> tuple[int, int]:
        """(major, minor) from ``/version``, read once (``"30+"`` style minors are accepted)."""
        from podtask.engines.kubernetes.errors import with_retries

        with self._lock:
            if self._version is None:
                info = with_retries(
                    lambda: _get_json(self.core, "/version/"),
                    verb="get",
                    resource="version",
                    namespace=None,
                    server=self.server,
                )
                self._version = (_number(info.get("major")), _number(info.get("minor")))
            return self._version

    def check_namespace(self, namespace: str) -> None:
        """Refuse a namespace the cluster does not have, before a run record exists.

        Listing pods there would not tell (a real API server lists an empty
        namespace and a missing one alike), so the namespace itself is read.
        A user whose RBAC rules do not allow that (podtask needs only pod
        rules) is not refused here: creating the pod will say.
        """
        from urllib.parse import quote

        from podtask._errors import EngineUnreachable, SpecError
        from podtask.engines.kubernetes.errors import NotFound, with_retries

        try:
            with_retries(
                lambda: _get_json(self.core, f"/api/v1/namespaces/{quote(namespace, safe='')}"),
                verb="get",
                resource="namespaces",
                name=namespace,
                namespace=None,
                server=self.server,
            )
        except NotFound as exc:
            raise SpecError(
                f"namespace {namespace!r} does not exist on {self.server}",
                field="--namespace",
                hint="pass an existing one (`kubectl get namespaces`) or create it "
                f"(`kubectl create namespace {namespace}`)",
            ) from exc
        except EngineUnreachable:
            raise
        except EngineUnavailable:
            return  # forbidden to read namespaces: the pod's creation will tell


def _get_json(core: CoreCalls, path: str) -> dict[str, Any]:
    response = core.request("GET", path)
    try:
        data = json.loads(response.data)
    finally:
        response.release_conn()
    return data if isinstance(data, dict) else {}


def _number(text: Any) -> int:
    digits = "".join(ch for ch in str(text) if ch.isdigit())
    return int(digits) if digits else 0


_CLUSTERS: dict[tuple[str | None, str | None], Cluster] = {}
_CLUSTERS_LOCK = threading.Lock()


def connect(context: str | None = None, kubeconfig: str | None = None) -> Cluster:
    """The cluster of ``context`` in ``kubeconfig`` ($KUBECONFIG, ~/.kube/config), or in-cluster.

    In-cluster configuration is used when no kubeconfig file exists and the
    service-account token is mounted (podtask running inside a pod).
    """
    path = kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
    key = (path, context)
    with _CLUSTERS_LOCK:
        found = _CLUSTERS.get(key)
        if found is not None:
            return found
        cluster = _connect(path, context)
        _CLUSTERS[key] = cluster
        return cluster


def _connect(path: str, context: str | None) -> Cluster:
    first = path.split(os.pathsep)[0]
    if Path(first).is_file():
        import importlib.util

        from podtask.engines.kubernetes import direct

        if importlib.util.find_spec("kubernetes") is None:
            load_client()  # not installed: EngineUnavailable with the install command

        entry = direct.plain_entry(Path(first), context)
        if entry is not None:
            transport = direct.DirectTransport(entry, pool_size=POOL_SIZE, user_agent=USER_AGENT)
            return Cluster(
                api=None,
                core=CoreCalls(transport, lambda: _official(first, context)[0]),
                server=entry.server,
                default_namespace=entry.namespace,
                context=context,
                kubeconfig=first,
            )
    api, namespace = _official(first, context)
    return Cluster(
        api=api,
        core=CoreCalls(OfficialTransport(api), lambda: api),
        server=str(api.configuration.host),
        default_namespace=namespace,
        context=context,
        kubeconfig=first if Path(first).is_file() else None,
    )


def _official(first: str, context: str | None) -> tuple[Any, str]:
    """The official client's ``ApiClient`` for the context, and its default namespace."""
    k = load_client()
    configuration = k.client.Configuration()
    namespace = "default"
    if Path(first).is_file():
        try:
            k.config.load_kube_config(
                config_file=first, context=context, client_configuration=configuration
            )
            _, active = k.config.list_kube_config_contexts(config_file=first)
            if context:
                contexts, _ = k.config.list_kube_config_contexts(config_file=first)
                active = next((c for c in contexts if c.get("name") == context), active)
            namespace = (active or {}).get("context", {}).get("namespace") or "default"
        except Exception as exc:  # ConfigException, YAML errors, missing context
            raise EngineUnavailable(
                f"cannot use kubeconfig {first!r}"
                + (f" context {context!r}" if context else "")
                + f": {exc} (check `kubectl config get-contexts`, or pass --context)"
            ) from exc
    elif context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            k.config.load_incluster_config(client_configuration=configuration)
        except Exception as exc:
            raise EngineUnavailable(f"in-cluster configuration failed: {exc}") from exc
        ns_file = SA_DIR / "namespace"
        if ns_file.is_file():
            namespace = ns_file.read_text().strip() or "default"
    else:
        raise EngineUnavailable(
            f"no Kubernetes configuration: {first!r} does not exist and podtask is not running "
            "in a cluster (set KUBECONFIG, create ~/.kube/config, e.g. with `kind create "
            "cluster`, or use --engine local)"
        )
    configuration.connection_pool_maxsize = POOL_SIZE
    api = k.client.ApiClient(configuration)
    api.user_agent = USER_AGENT
    return api, namespace


def discard(response: Any) -> None:
    """Finish an answer whose body podtask does not need, then give its connection back.

    ``release_conn`` alone returns the connection with the body still unread, and
    the next request on that kept-alive connection reads the leftover as its own
    answer (``BadStatusLine`` with a Pod's JSON in it)."""
    try:
        response.drain_conn()
    finally:
        response.release_conn()
