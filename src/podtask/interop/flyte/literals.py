"""Flyte literals <-> podtask's JSON literals, by the task's interface.

The entrypoint's Flyte mode turns ``inputs.pb`` into the JSON literals the
ordinary runner reads, runs the task the ordinary way, and turns the JSON
outputs back into a ``LiteralMap``: one runner, two wire formats.  Values
are written the way flytekit 1.16 writes them, so flytekit reads them:

| podtask   | Flyte literal                                             |
|-----------|-----------------------------------------------------------|
| Integer, Float, String, Boolean | ``scalar.primitive`` of that kind   |
| Datetime  | ``scalar.primitive.datetime`` (UTC)                       |
| Timedelta | ``scalar.primitive.duration``                             |
| Generic   | ``scalar.binary`` msgpack (``scalar.generic`` also read)  |
| Blob, CSV | ``scalar.blob`` whose file is under the raw output prefix |
| Directory | ``scalar.blob``, multipart: a directory (uploaded under  |
|           | the raw output prefix at ``<random>/``, as flytekit does) |
| List      | ``collection``                                            |

Offloaded literals (``offloaded_metadata``: the literal lives at a URI) are
read from where they were offloaded.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podtask._authoring import Variable
from podtask._errors import SpecError
from podtask._types import LiteralType
from podtask.interop.flyte import storage
from podtask.interop.flyte._idl import idl
from podtask.interop.flyte.types import blob_type

MSGPACK_TAG = "msgpack"


def _msgpack() -> Any:
    try:
        import msgpack
    except ImportError as exc:
        raise SpecError("Generic values need msgpack", hint="pip install 'podtask[flyte]'") from exc
    return msgpack


def inputs_to_json(
    literal_map: Any, inputs: tuple[Variable, ...], *, blob_dir: Path
) -> dict[str, Any]:
    """A ``LiteralMap`` -> ``{name: JSON literal}``; remote blobs are fetched into ``blob_dir``.

    Inputs absent from the map are left out, so the runner applies defaults
    (Flyte fills defaults in the launch plan, but a direct call may omit them).
    """
    known = {v.name for v in inputs}
    unknown = sorted(set(literal_map.literals) - known)
    if unknown:
        raise SpecError(f"unknown input {unknown[0]!r}", field=unknown[0])
    out: dict[str, Any] = {}
    for var in inputs:
        if var.name in literal_map.literals:
            lit = literal_map.literals[var.name]
            out[var.name] = literal_to_json(lit, var.type, name=var.name, blob_dir=blob_dir)
    return out


def literal_to_json(lit: Any, t: LiteralType, *, name: str, blob_dir: Path) -> Any:
    if lit.HasField("offloaded_metadata"):
        offloaded = idl("core.literals_pb2").Literal()
        offloaded.ParseFromString(storage.read_bytes(lit.offloaded_metadata.uri))
        return literal_to_json(offloaded, t, name=name, blob_dir=blob_dir)
    if t.kind == "list":
        assert t.element is not None
        if not lit.HasField("collection"):
            raise SpecError(f"expected a collection literal for {t}", field=name)
        return [
            literal_to_json(item, t.element, name=f"{name}[{i}]", blob_dir=blob_dir)
            for i, item in enumerate(lit.collection.literals)
        ]
    if not lit.HasField("scalar"):
        raise SpecError(f"expected a scalar literal for {t}", field=name)
    scalar = lit.scalar
    if t.kind == "generic":
        if scalar.HasField("binary") and scalar.binary.tag == MSGPACK_TAG:
            return _msgpack().unpackb(scalar.binary.value)
        if scalar.HasField("generic"):
            from google.protobuf import json_format

            return json_format.MessageToDict(scalar.generic)
        raise SpecError("expected a msgpack binary or a Struct for Generic", field=name)
    if t.kind in ("blob", "csv", "directory"):
        if not scalar.HasField("blob"):
            raise SpecError(f"expected a blob literal for {t}", field=name)
        multipart = idl("core.types_pb2").BlobType.BlobDimensionality.MULTIPART
        if (scalar.blob.metadata.type.dimensionality == multipart) != (t.kind == "directory"):
            got = "a multipart blob (a directory)" if t.kind != "directory" else "a single file"
            raise SpecError(f"expected {t}, got {got}: {scalar.blob.uri}", field=name)
        if t.kind == "directory":
            return _fetch_directory(scalar.blob.uri, blob_dir / name, name=name)
        return _fetch_blob(scalar.blob.uri, blob_dir / name)
    if not scalar.HasField("primitive"):
        raise SpecError(f"expected a primitive literal for {t}", field=name)
    p = scalar.primitive
    which = p.WhichOneof("value")
    expected = {
        "integer": "integer",
        "float": "float_value",
        "string": "string_value",
        "boolean": "boolean",
        "datetime": "datetime",
        "timedelta": "duration",
    }[t.kind]
    if which != expected:
        raise SpecError(f"expected {t}, got a {which} literal", field=name)
    if t.kind == "datetime":
        return p.datetime.ToDatetime(tzinfo=_dt.timezone.utc).isoformat()
    if t.kind == "timedelta":
        return p.duration.ToTimedelta().total_seconds()
    return getattr(p, which)


def _fetch_blob(uri: str, dest_dir: Path) -> str:
    """A local path for the blob: the file itself when it is local, else a downloaded copy."""
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if "://" not in uri:
        return uri
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / (uri.rstrip("/").rsplit("/", 1)[-1] or "blob")
    dest.write_bytes(storage.read_bytes(uri))
    return str(dest)


def _fetch_directory(uri: str, dest_dir: Path, *, name: str) -> str:
    """A local directory for the multipart blob: itself when local, else a downloaded copy."""
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if "://" not in uri:
        if not Path(uri).is_dir():
            raise SpecError(f"multipart blob {uri} is not a directory", field=name)
        return uri
    dest = dest_dir / (uri.rstrip("/").rsplit("/", 1)[-1] or "dir")
    storage.download_tree(uri, dest)
    return str(dest)


def outputs_to_literal_map(
    values: Mapping[str, Any], outputs: tuple[Variable, ...], *, raw_output_prefix: str
) -> Any:
    """``{name: JSON literal}`` from the runner -> ``LiteralMap``; blobs go to the raw prefix."""
    lm = idl("core.literals_pb2").LiteralMap()
    for var in outputs:
        lm.literals[var.name].CopyFrom(
            json_to_literal(values[var.name], var.type, raw_output_prefix=raw_output_prefix)
        )
    return lm


def json_to_literal(data: Any, t: LiteralType, *, raw_output_prefix: str) -> Any:
    literals_pb2 = idl("core.literals_pb2")
    if t.kind == "list":
        assert t.element is not None
        items = [json_to_literal(d, t.element, raw_output_prefix=raw_output_prefix) for d in data]
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))
    scalar = literals_pb2.Scalar()
    if t.kind == "generic":
        scalar.binary.value = _msgpack().packb(data)
        scalar.binary.tag = MSGPACK_TAG
    elif t.kind in ("blob", "csv", "directory"):
        src = Path(data)
        if t.kind == "directory":
            # flytekit's layout: the directory's files right under <raw prefix>/<random>/.
            uri = storage.join(raw_output_prefix, secrets.token_hex(16))
            storage.upload_tree(src, uri)
        else:
            uri = storage.join(raw_output_prefix, secrets.token_hex(8), src.name)
            storage.write_bytes(uri, src.read_bytes())
        # A local file is named by its path, as flytekit names it (it reads no file:// URIs).
        scalar.blob.uri = uri.removeprefix("file://")
        scalar.blob.metadata.type.CopyFrom(blob_type(t.kind))
    else:
        p = scalar.primitive
        if t.kind == "integer":
            p.integer = data
        elif t.kind == "float":
            p.float_value = data
        elif t.kind == "string":
            p.string_value = data
        elif t.kind == "boolean":
            p.boolean = data
        elif t.kind == "datetime":
            p.datetime.FromDatetime(_dt.datetime.fromisoformat(data))
        else:
            p.duration.FromTimedelta(_dt.timedelta(seconds=data))
    return literals_pb2.Literal(scalar=scalar)
