"""What a container's environment holds on a cluster: its namespace, the API's address."""

from __future__ import annotations

import uuid
from typing import Any

from podtask.testing.apiserver import ApiServer

from .conftest import needs_namespaces, phase, pod, sh

pytestmark = needs_namespaces


def test_field_refs_and_service_env(srv: ApiServer, core: Any) -> None:
    ns = f"env-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": ns}})
    env = [
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    script = "echo $NS $UID $NODE $KUBERNETES_SERVICE_HOST $KUBERNETES_SERVICE_PORT"
    created = core.create_namespaced_pod(ns, pod("env", sh("main", script, env=env)))
    done = srv.wait_for_pod(ns, "env", lambda p: phase(p) in ("Succeeded", "Failed"), 15)
    assert done is not None and phase(done) == "Succeeded"
    words = core.read_namespaced_pod_log("env", ns).split()
    assert words == [ns, created.metadata.uid, srv.node_name, "127.0.0.1", str(srv.port)]
    core.delete_namespaced_pod("env", ns)
