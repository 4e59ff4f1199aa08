"""Helpers for the flyte tests: run the real tools, read packages, diff messages."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "flytekit", reason="needs flytekit: scripts/test runs tests/flyte in .venv-flyte"
)

from google.protobuf import json_format

ROOT = Path(__file__).resolve().parents[2]
ORACLE = Path(__file__).resolve().parent / "oracle"
BIN = Path(sys.executable).parent


def tree(root: str | Path) -> dict[str, str]:
    """Every file under ``root``: relative path -> text."""
    base = Path(root)
    return {p.relative_to(base).as_posix(): p.read_text() for p in base.rglob("*") if p.is_file()}


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> str:
    """Run a command of this venv; fail the test with its output when it fails."""
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    proc = subprocess.run(
        [*args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def task_specs(package: Path) -> dict[str, dict[str, Any]]:
    """Entry name (index stripped) -> TaskSpec as a dict, for every task entry of a package.

    Entries ending ``_1.pb`` are tasks (ResourceType TASK); workflows and launch plans
    (``_2.pb``, ``_3.pb``) are left out.
    """
    from flyteidl.admin.task_pb2 import TaskSpec

    out: dict[str, dict[str, Any]] = {}
    with tarfile.open(package) as tar:
        for member in tar.getmembers():
            if not member.name.endswith("_1.pb"):
                continue
            data = tar.extractfile(member)
            assert data is not None
            spec = TaskSpec()
            spec.ParseFromString(io.BytesIO(data.read()).getvalue())
            key = member.name.split("_", 1)[1]
            out[key] = json_format.MessageToDict(spec)
    return out


def diff(a: Any, b: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    """Every leaf path where ``a`` and ``b`` differ; containers are named by their name."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: dict[str, tuple[Any, Any]] = {}
        for k in sorted(set(a) | set(b)):
            out.update(diff(a.get(k), b.get(k), f"{path}.{k}" if path else k))
        return out
    if (
        isinstance(a, list)
        and isinstance(b, list)
        and all(isinstance(x, dict) and "name" in x for x in a + b)
    ):
        an, bn = {x["name"]: x for x in a}, {x["name"]: x for x in b}
        if list(an) == list(bn):
            out = {}
            for name in an:
                out.update(diff(an[name], bn[name], f"{path}[{name}]"))
            return out
    return {} if a == b else {path: (a, b)}
