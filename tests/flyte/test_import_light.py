"""`import podtask` stays light even where flytekit and flyteidl are installed."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip(
    "flytekit", reason="needs flytekit: scripts/test runs tests/flyte in .venv-flyte"
)


def test_import_podtask_loads_no_flyte_library() -> None:
    code = (
        "import sys, podtask, podtask.sdk.tasks, podtask.entrypoint, podtask.cli.main\n"
        "heavy = [m for m in ('flytekit', 'flyteidl', 'google.protobuf', 'msgpack', 'fsspec')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
