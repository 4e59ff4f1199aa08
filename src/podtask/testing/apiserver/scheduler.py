"""The scheduler's one question on a one-node cluster: does the pod fit this node?

A pod whose ``nodeSelector`` or required node affinity no label of the node
satisfies stays ``Pending`` with ``PodScheduled=False (Unschedulable)`` and
the scheduler's message, as on a real cluster; podtask's handling of such a
pod can only be tested if this server refuses to run it. Taints and
resources are not modelled: the node has none and room for everything.
"""

from __future__ import annotations

from typing import Any

NO_FIT = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    " no new claims to deallocate, preemption: 0/1 nodes are available: 1 Preemption is not"
    " helpful for scheduling."
)


def node_labels(node_name: str) -> dict[str, str]:
    """The labels a kubelet puts on its Node."""
    return {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node_name,
        "kubernetes.io/os": "linux",
    }


def _requirement(req: dict[str, Any], values: dict[str, str]) -> bool:
    key, op = str(req.get("key", "")), str(req.get("operator", ""))
    wanted = [str(v) for v in req.get("values") or []]
    present = key in values
    if op == "In":
        return present and values[key] in wanted
    if op == "NotIn":
        return not present or values[key] not in wanted
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(wanted) == 1:
        try:
            have, limit = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return have > limit if op == "Gt" else have < limit
    return False


def _term(term: dict[str, Any], labels: dict[str, str], node_name: str) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches no objects
    return all(_requirement(r, labels) for r in exprs) and all(
        _requirement(r, {"metadata.name": node_name}) for r in fields
    )


def fits(spec: dict[str, Any], node_name: str) -> bool:
    """True when the node satisfies the pod's nodeSelector and required node affinity."""
    labels = node_labels(node_name)
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(str(k)) != str(v) for k, v in selector.items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms")
    return terms is None or any(_term(t, labels, node_name) for t in terms)
