"""Loading the official client and connecting to a cluster, lazily and once per process.

``Cluster`` objects are cached by (kubeconfig, context) so that every run in a
process shares one connection pool and, per namespace, one watch.  The cache
holds nothing that needs resetting: a cluster is only configuration plus a
connection pool, and the watchers stop themselves when no run listens.
"""

from __future__ import annotations

import os
import threading
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


@dataclass
class Cluster:
    """One API server as configured: the client objects, the default namespace, the version."""

    api: Any  # kubernetes.client.ApiClient
    core: Any  # kubernetes.client.CoreV1Api
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
                k = load_client()
                groups = with_retries(
                    lambda: k.client.ApisApi(self.api).get_api_versions(),
                    verb="get",
                    resource="apis",
                    namespace=None,
                    server=self.server,
                )
                self._host_files = any(g.name == HOST_FILES_GROUP for g in groups.groups or [])
            return self._host_files

    def version(self) -> tuple[int, int]:
        """(major, minor) from ``/version``, read once (``"30+"`` style minors are accepted)."""
        from podtask.engines.kubernetes.errors import with_retries

        with self._lock:
            if self._version is None:
                k = load_client()
                info = with_retries(
                    lambda: k.client.VersionApi(self.api).get_code(),
                    verb="get",
                    resource="version",
                    namespace=None,
                    server=self.server,
                )
                self._version = (_number(info.major), _number(info.minor))
            return self._version


def _number(text: str) -> int:
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
    k = load_client()
    configuration = k.client.Configuration()
    first = path.split(os.pathsep)[0]
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
    return Cluster(
        api=api,
        core=k.client.CoreV1Api(api),
        server=str(configuration.host),
        default_namespace=namespace,
        context=context,
        kubeconfig=first if Path(first).is_file() else None,
    )


def discard(response: Any) -> None:
    """Finish an answer whose body podtask does not need, then give its connection back.

    ``release_conn`` alone returns the connection with the body still unread, and
    the next request on that kept-alive connection reads the leftover as its own
    answer (``BadStatusLine`` with a Pod's JSON in it)."""
    try:
        response.drain_conn()
    finally:
        response.release_conn()
