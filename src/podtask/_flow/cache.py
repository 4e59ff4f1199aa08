"""Cache keys: a node reuses an earlier run when task, interface, version and inputs match.

Blob and CSV inputs (and each file of a directory input) are keyed by their
content's hash, not their path, so the same file under another name hits and
an edited file at the same path misses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podtask._authoring import Task
from podtask._errors import SpecError
from podtask._types import LiteralType


def _sha256(path: Path, name: str) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise SpecError(f"cannot read {path} to key the cache: {exc}", field=name) from exc
    return digest.hexdigest()


def _content(literal: Any, t: LiteralType, name: str) -> Any:
    if t.kind in ("blob", "csv"):
        return {"sha256": _sha256(Path(str(literal)), name)}
    if t.kind == "directory":  # every file's relative path and content
        root = Path(str(literal))
        files = sorted(p for p in root.rglob("*") if p.is_file())
        return {"tree": {p.relative_to(root).as_posix(): _sha256(p, name) for p in files}}
    if t.kind == "list" and isinstance(literal, list):
        assert t.element is not None
        return [_content(v, t.element, f"{name}[{i}]") for i, v in enumerate(literal)]
    return literal


def cache_key(task: Task, inputs: Mapping[str, Any]) -> str:
    """The key of ``task`` run with these input literals (defaults already filled in)."""
    keyed = {
        v.name: _content(inputs[v.name], v.type, v.name)
        for v in task.interface.inputs
        if v.name in inputs
    }
    doc = {
        "task": f"{task.module}:{task.name}",
        "interface": task.interface.to_json(),
        "cache_version": task.cache_version,
        "inputs": keyed,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
