"""What the admission plugins add to a Pod on create, as on a real cluster.

``ServiceAccount`` mounts the ``kube-api-access-*`` projected volume (token,
the cluster's CA as ``kube-root-ca.crt``, the namespace) into every
container unless ``automountServiceAccountToken`` is false;
``DefaultTolerationSeconds`` adds the two ``NoExecute`` tolerations; the
server sets ``generation`` and records ``managedFields``. A client that
reads back its pod (or compares it with what it sent) sees the same shape
as on a cluster.
"""

from __future__ import annotations

import secrets
from typing import Any

from podtask.testing.apiserver.podstatus import ts

TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA = "kube-root-ca.crt"  # the ConfigMap every namespace has, holding ca.crt
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DEFAULT_TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]


def is_token_volume(volume: dict[str, Any]) -> bool:
    return str(volume.get("name", "")).startswith("kube-api-access-") and "projected" in volume


def _token_volume(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": ROOT_CA, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                "path": "namespace",
                            }
                        ]
                    }
                },
            ],
        },
    }


def _fields(obj: Any) -> Any:
    """A rough ``FieldsV1`` of what the client set (maps as ``f:`` keys, the rest leaves)."""
    if isinstance(obj, dict):
        return {f"f:{k}": _fields(v) for k, v in obj.items()}
    return {}


def admit(pod: dict[str, Any], manager: str) -> dict[str, Any]:
    """Apply the create-time admission defaults to a validated, defaulted Pod."""
    meta, spec = pod["metadata"], pod["spec"]
    sent = {k: v for k, v in pod.items() if k in ("metadata", "spec")}
    meta["managedFields"] = [
        {
            "manager": manager,
            "operation": "Update",
            "apiVersion": "v1",
            "time": ts(),
            "fieldsType": "FieldsV1",
            "fieldsV1": _fields(
                {
                    "metadata": {
                        k: v for k, v in sent["metadata"].items() if k in ("labels", "annotations")
                    },
                    "spec": sent["spec"],
                }
            ),
        }
    ]
    meta["generation"] = 1
    tolerations = spec.setdefault("tolerations", [])
    for default in DEFAULT_TOLERATIONS:
        if not any(
            t.get("key") == default["key"] and t.get("effect") in (None, "", "NoExecute")
            for t in tolerations
        ):
            tolerations.append(dict(default))
    if spec.get("automountServiceAccountToken") is False:
        return pod
    name = "kube-api-access-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))
    spec.setdefault("volumes", []).append(_token_volume(name))
    for c in [*(spec.get("initContainers") or []), *spec["containers"]]:
        mounts = c.setdefault("volumeMounts", [])
        if not any(m.get("mountPath") == TOKEN_DIR for m in mounts):
            mounts.append({"name": name, "readOnly": True, "mountPath": TOKEN_DIR})
    return pod
