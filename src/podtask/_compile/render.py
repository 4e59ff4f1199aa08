"""Deterministic bytes for templates and manifests: the same task gives the same bytes.

Keys are sorted and formatting is fixed, so output can be committed as golden
files and diffed (flytekit's serialized output changes from run to run).
"""

from __future__ import annotations

import json
from typing import Any

import yaml


def to_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as blocks (readable scripts in args)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=100
    )
