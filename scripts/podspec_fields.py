"""Write src/podtask/_podspec/podspec_fields.json: the field names of a v1 PodSpec, by type.

podtask checks pod-spec field names with this table when kubernetes-validate
(the ``validate`` extra, which checks types too) is not installed, so a
misspelt field is refused either way. The names are facts of the Kubernetes
API; they are read from the strict 1.30 schema kubernetes-validate bundles:

    pip install 'kubernetes-validate>=1.30' && python scripts/podspec_fields.py

Format: {"version": "1.30", "root": TYPE, "types": {TYPE: {FIELD: KIND}}}
where KIND is null (a value whose fields are not checked), "T" (an object of
type T), "[T]" (a list of T) or "{T}" (a map of string to T).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate

VERSION = "1.30"
ROOT = "io.k8s.api.core.v1.PodSpec"
OUT = Path(__file__).resolve().parent.parent / "src/podtask/_podspec/podspec_fields.json"


def _short(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].rsplit(".", 1)[-1]


def main(out: Path = OUT) -> None:
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    defs = json.loads((base / f"v{VERSION}.0-local-strict/_definitions.json").read_text())["$defs"]
    types: dict[str, dict[str, Any]] = {}
    full: dict[str, str] = {}
    todo = [ROOT]
    while todo:
        name = todo.pop()
        short = _short(name)
        if short in types:
            if full[short] != name:
                raise SystemExit(f"two types named {short}: {full[short]}, {name}")
            continue
        props = defs[name].get("properties") or {}
        full[short] = name
        types[short] = {}
        for field, schema in sorted(props.items()):
            types[short][field] = _kind(schema, defs, todo)
    doc = {"version": VERSION, "root": _short(ROOT), "types": dict(sorted(types.items()))}
    out.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"{out}: {len(types)} types, {sum(map(len, types.values()))} fields")


def _kind(schema: dict[str, Any], defs: dict[str, Any], todo: list[str]) -> str | None:
    """The KIND of a property (see the module docstring); queues the types it names."""

    def object_ref(s: dict[str, Any]) -> str | None:
        ref = s.get("$ref")
        if not ref:
            return None
        name = ref.rsplit("/", 1)[-1]
        if not defs[name].get("properties"):  # Quantity, IntOrString, Time: scalars
            return None
        todo.append(name)
        return _short(name)

    if (t := object_ref(schema)) is not None:
        return t
    items = schema.get("items")
    if isinstance(items, dict) and (t := object_ref(items)) is not None:
        return f"[{t}]"
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and (t := object_ref(values)) is not None:
        return f"{{{t}}}"
    return None


if __name__ == "__main__":
    main()
