"""The ConfigMap that carries an attempt's code bundle and inputs (the API-only transport).

Created just before the pod (a pod whose ConfigMap volume is missing would
wait for it), then made dependent on the pod through an owner reference, so
the cluster's garbage collector removes it with the pod even when podtask is
killed; podtask also deletes it itself when the attempt ends.  The owner
reference needs ``patch`` on configmaps; without it the explicit delete is
the only cleanup, and podtask says nothing (the Role in the README grants it).
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass
from typing import Any

from podtask._errors import PodtaskError
from podtask.engines.kubernetes import transport
from podtask.engines.kubernetes.client import discard
from podtask.engines.kubernetes.errors import Conflict, NotFound, with_retries

SUFFIX = "-io"


@dataclass
class IoConfigMap:
    cluster: Any  # client.Cluster
    namespace: str
    pod: str

    @staticmethod
    def name_for(pod: str) -> str:
        return pod + SUFFIX

    @property
    def name(self) -> str:
        return self.name_for(self.pod)

    def _call(self, fn: Any, verb: str) -> Any:
        return with_retries(
            fn,
            verb=verb,
            resource="configmaps",
            namespace=self.namespace,
            name=self.name,
            server=self.cluster.server,
            retry_conflict=False,
        )

    def create(self, labels: dict[str, str], bundle: bytes | None, inputs: bytes) -> None:
        binary = {transport.INPUTS_KEY: base64.b64encode(inputs).decode()}
        if bundle is not None:
            binary[transport.CODE_KEY] = base64.b64encode(bundle).decode()
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": labels},
            "binaryData": binary,
        }
        core = self.cluster.core
        try:
            self._call(
                lambda: discard(
                    core.create_namespaced_config_map(self.namespace, body, _preload_content=False)
                ),
                "create",
            )
        except Conflict:
            # Left by a create whose answer was lost, or by an earlier try of this attempt:
            # replace it, the pod must read this attempt's inputs.
            self.delete()
            self._call(
                lambda: discard(
                    core.create_namespaced_config_map(self.namespace, body, _preload_content=False)
                ),
                "create",
            )

    def owned_by(self, pod: dict[str, Any]) -> None:
        """Let the cluster delete the ConfigMap with the pod (best effort; see the module)."""
        meta = pod.get("metadata") or {}
        if not meta.get("uid"):
            return
        patch = {
            "metadata": {
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": str(meta.get("name")),
                        "uid": str(meta["uid"]),
                    }
                ]
            }
        }
        core = self.cluster.core
        # Forbidden or unsupported: the explicit delete at the end remains.
        with contextlib.suppress(PodtaskError):
            self._call(
                lambda: discard(
                    core.patch_namespaced_config_map(
                        self.name, self.namespace, patch, _preload_content=False
                    )
                ),
                "patch",
            )

    def delete(self) -> bool:
        """Delete it; False when it was already gone.  Other errors propagate."""
        core = self.cluster.core
        try:
            self._call(
                lambda: discard(
                    core.delete_namespaced_config_map(
                        self.name, self.namespace, _preload_content=False
                    )
                ),
                "delete",
            )
        except NotFound:
            return False
        return True


__all__ = ["IoConfigMap"]
