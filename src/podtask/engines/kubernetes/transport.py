"""The API-only transport: a run's code and inputs in, its results out, through the API alone.

A cluster that shares no files with this machine and no object store
(``--storage``) can still run a task: the code bundle and ``inputs.json`` go
into a ConfigMap mounted read-only into the primary, and the primary's
entrypoint writes its results (``outputs.json``, ``error.json``, small blobs)
as its termination message, which the kubelet copies into the container's
status (``state.terminated.message``) where the watch delivers it.

Both sides import this module (the engine, and ``podtask.entrypoint.apitransport``
in the pod), so the paths, the limits and the encoding live in one place.
Stdlib only: the pod must not pay for the Kubernetes client.

The encoding is compact because the kubelet keeps at most 4096 bytes of a
termination message: ``podtask/1:`` + base85(zlib(JSON)), where the JSON
maps each file's path under the output prefix to its text (or ``{"b64":
...}`` for bytes that are not UTF-8).  When the results do not fit, a long
traceback is cut from the front until they do; failing that, the message
says how large the results were (``{"limit": {...}}``) and the client fails
the run naming the limit and ``--storage``.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: What the kubelet keeps of a termination message (bytes).
MESSAGE_LIMIT = 4096
#: What a ConfigMap may hold, data and binaryData together (bytes).
CONFIGMAP_LIMIT = 1024 * 1024
#: Room left in the ConfigMap for its keys and metadata.
CONFIGMAP_HEADROOM = 4096

PREFIX = "podtask/1:"
IO_VOLUME = "podtask-io"  # the ConfigMap, read-only
IO_DIR = "/var/lib/podtask/io"
WORK_VOLUME = "podtask-work"  # an emptyDir: outputs and the unpacked code
WORK_DIR = "/var/lib/podtask/work"
INPUTS_KEY = "inputs.json"
CODE_KEY = "code.zip"
TERMINATION_LOG = "/dev/termination-log"

#: Where the entrypoint finds the code bundle (a zip to unpack onto ``sys.path``).
CODE_BUNDLE_ENV = "PODTASK_CODE_BUNDLE"
#: Where the entrypoint writes the encoded results (the primary's ``terminationMessagePath``).
RESULT_MESSAGE_ENV = "PODTASK_RESULT_MESSAGE"
#: The entrypoint's own start and end (epoch seconds), a finer clock than the kubelet's.
TIMES_FILE = "times.json"


def output_dir(pod: str) -> str:
    """The primary's output prefix: the pod's name keeps it apart from any other pod's,
    even where a runtime shares more of a node's file system than it should."""
    return f"{WORK_DIR}/{pod}/outputs"


def _pack(files: Mapping[str, bytes]) -> str:
    doc: dict[str, Any] = {}
    for name, data in sorted(files.items()):
        try:
            doc[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            doc[name] = {"b64": base64.b64encode(data).decode()}
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    return PREFIX + base64.b85encode(zlib.compress(raw, 9)).decode()


def _shorten_traceback(error: bytes, keep: int) -> bytes:
    """The error document with only the last ``keep`` characters of its traceback."""
    try:
        doc = json.loads(error)
    except ValueError:
        return error
    text = str(doc.get("traceback") or "")
    if len(text) <= keep:
        return error
    doc["traceback"] = "... (cut to fit the termination message)\n" + text[-keep:]
    return json.dumps(doc).encode()


def encode_results(files: Mapping[str, bytes], *, limit: int = MESSAGE_LIMIT) -> str:
    """The termination message for these result files (paths relative to the output prefix)."""
    message = _pack(files)
    if len(message.encode()) <= limit:
        return message
    error = files.get("error.json")
    if error is not None:
        keep = 2000
        while keep >= 100:
            trimmed = dict(files, **{"error.json": _shorten_traceback(error, keep)})
            trimmed.pop("outputs.json", None)
            message = _pack(trimmed)
            if len(message.encode()) <= limit:
                return message
            keep //= 2
    size = len(_pack(files).encode())
    note = {"limit": {"what": "results", "bytes": size, "max": limit}}
    return PREFIX + base64.b85encode(zlib.compress(json.dumps(note).encode(), 9)).decode()


def collect_results(output_dir: Path) -> dict[str, bytes]:
    """Every file under the output prefix, by relative path."""
    if not output_dir.is_dir():
        return {}
    return {
        p.relative_to(output_dir).as_posix(): p.read_bytes()
        for p in sorted(output_dir.rglob("*"))
        if p.is_file()
    }


def for_people(message: str | None) -> str | None:
    """A termination message as the user should see it: podtask's own results document
    (read by ``api_io.read_results``) is ~1 KB of base85, so it is no message at all."""
    if message and message.startswith(PREFIX):
        return None
    return message


class NotOurs(ValueError):
    """The message is not podtask's (a crash left the log tail there, or nothing)."""


def decode_results(message: str | None) -> dict[str, Any]:
    """The JSON document encoded by ``encode_results``; ``NotOurs`` when it is not one."""
    if not message or not message.startswith(PREFIX):
        raise NotOurs("no podtask results in the termination message")
    try:
        raw = zlib.decompress(base64.b85decode(message[len(PREFIX) :].strip()))
        doc = json.loads(raw)
    except (ValueError, zlib.error) as exc:
        raise NotOurs(f"the termination message is damaged: {exc}") from exc
    if not isinstance(doc, dict):
        raise NotOurs("the termination message is not a results document")
    return doc


def file_bytes(value: Any) -> bytes:
    """One decoded file's content."""
    if isinstance(value, dict):
        return base64.b64decode(str(value.get("b64", "")))
    return str(value).encode("utf-8")


__all__ = [
    "CODE_BUNDLE_ENV",
    "CODE_KEY",
    "CONFIGMAP_HEADROOM",
    "CONFIGMAP_LIMIT",
    "INPUTS_KEY",
    "IO_DIR",
    "IO_VOLUME",
    "MESSAGE_LIMIT",
    "RESULT_MESSAGE_ENV",
    "TERMINATION_LOG",
    "TIMES_FILE",
    "WORK_DIR",
    "WORK_VOLUME",
    "NotOurs",
    "collect_results",
    "decode_results",
    "encode_results",
    "file_bytes",
    "for_people",
    "output_dir",
]
