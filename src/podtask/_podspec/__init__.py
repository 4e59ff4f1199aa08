"""Pod specs in every form users bring them, made into canonical Kubernetes JSON and checked.

``normalize_pod`` accepts the seed's k8s-proto ``PodSpec``, ``kubernetes.client``
models, plain dicts and YAML/JSON files and returns plain dicts;
``validate_pod_spec`` catches name, mount, quantity, env and port mistakes
with the exact field path; ``schema_validate_pod`` checks a whole Pod against
the bundled Kubernetes schema when kubernetes-validate is installed. None of
these import protobuf, kubernetes or kubernetes-validate until they need them.
"""

from podtask._podspec.env import pod_field_values, resolve_env
from podtask._podspec.expand import expand
from podtask._podspec.normalize import NormalizedPod, normalize_pod, normalize_pod_spec
from podtask._podspec.quantity import parse_quantity, quantity_to_bytes
from podtask._podspec.schema import schema_validate_pod
from podtask._podspec.validate import VOLUME_SOURCES, validate_pod_spec

__all__ = [
    "VOLUME_SOURCES",
    "NormalizedPod",
    "expand",
    "normalize_pod",
    "normalize_pod_spec",
    "parse_quantity",
    "pod_field_values",
    "quantity_to_bytes",
    "resolve_env",
    "schema_validate_pod",
    "validate_pod_spec",
]
