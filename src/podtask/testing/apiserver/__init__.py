"""A Kubernetes API server for Pods whose pods really run, on the local engine.

For testing what talks to a cluster (podtask's kubernetes engine, your own
tasks, scripts using the ``kubernetes`` client or ``kubectl``) on a machine
with no cluster::

    from podtask.testing.apiserver import ApiServer

    with ApiServer.start() as srv:           # version= to emulate another one
        kubernetes.config.load_kube_config(str(srv.kubeconfig_path))
        ...
        srv.faults.fail_next("create", 2)     # two 500s
        srv.requests                          # {"create": 3, "watch": 1, ...}

or from a shell: ``python -m podtask.testing.apiserver --kubeconfig FILE``.
It follows the Kubernetes REST semantics for Pods (create, get, list, watch
with resourceVersion and 410 Gone, delete with grace, logs, the usual status
codes) and reports pod status as a kubelet would. Its pods run as root on
this machine, so it listens on 127.0.0.1 only, over HTTPS, and serves only
the holder of the bearer token in the kubeconfig it writes (mode 0600); see
``access``.
"""

from podtask.testing.apiserver.faults import Faults
from podtask.testing.apiserver.server import ApiServer

__all__ = ["ApiServer", "Faults"]
