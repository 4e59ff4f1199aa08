"""podtask ``LiteralType`` -> flyteidl ``LiteralType``, as flytekit's type engine writes them.

| podtask      | Flyte                                  | flytekit's Python type |
|--------------|----------------------------------------|------------------------|
| String, ...  | ``simple`` STRING, INTEGER, FLOAT, ... | str, int, float, ...   |
| Timedelta    | ``simple`` DURATION                    | timedelta              |
| Generic      | ``simple`` STRUCT (msgpack annotation) | dict                   |
| Blob         | ``blob`` single, no format             | FlyteFile              |
| CSV          | ``blob`` single, format ``csv``        | FlyteFile["csv"]       |
| Directory    | ``blob`` multipart, no format          | FlyteDirectory         |
| List(X)      | ``collection_type`` X                  | list[X]                |

flytekit 1.16 marks a ``dict`` with a cache-key annotation saying its values
travel as msgpack; the same annotation is written so that the interface (and
so Flyte's cache key) is the one a flytekit task with the same hints gets.
"""

from __future__ import annotations

from typing import Any

from podtask._types import LiteralType
from podtask.interop.flyte._idl import idl

_SIMPLE = {
    "string": "STRING",
    "integer": "INTEGER",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "datetime": "DATETIME",
    "timedelta": "DURATION",
}
DICT_ANNOTATION = {"cache-key-metadata": {"serialization-format": "msgpack"}}


def to_flyte_type(t: LiteralType) -> Any:
    """The flyteidl ``core.types_pb2.LiteralType`` for ``t``."""
    types_pb2 = idl("core.types_pb2")
    kind = t.kind
    if kind in _SIMPLE:
        return types_pb2.LiteralType(simple=types_pb2.SimpleType.Value(_SIMPLE[kind]))
    if kind == "generic":
        lt = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT)
        lt.annotation.annotations.update(DICT_ANNOTATION)
        return lt
    if kind in ("blob", "csv", "directory"):
        return types_pb2.LiteralType(blob=blob_type(kind))
    assert kind == "list" and t.element is not None
    return types_pb2.LiteralType(collection_type=to_flyte_type(t.element))


def blob_type(kind: str) -> Any:
    """The ``BlobType`` of a Blob, CSV (single file) or Directory (multipart) value."""
    types_pb2 = idl("core.types_pb2")
    dims = types_pb2.BlobType.BlobDimensionality
    return types_pb2.BlobType(
        format="csv" if kind == "csv" else "",
        dimensionality=dims.MULTIPART if kind == "directory" else dims.SINGLE,
    )
