"""`podtask export flyte`: registration fields, reproducible bytes, --legacy-sidecar, bad input."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.flyte.flytekit_tools import BIN, ROOT, run, task_specs

SEED = str(ROOT / "examples" / "seed_working_example.py")
TYPED = str(ROOT / "examples" / "typed_example.py")


def export(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    cmd = [str(BIN / "podtask"), "export", "flyte", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def test_registration_fields_and_one_task(tmp_path: Path) -> None:
    run(str(BIN / "podtask"), "export", "flyte", TYPED, "--task", "greet", "--image", "i:1",
        "-o", str(tmp_path), "--project", "flytesnacks", "--domain", "development",
        "--version", "v7")  # fmt: skip
    specs = task_specs(tmp_path / "flyte-package.tgz")
    assert list(specs) == ["typed_example.greet_1.pb"]
    assert specs["typed_example.greet_1.pb"]["template"]["id"] == {
        "resourceType": "TASK",
        "project": "flytesnacks",
        "domain": "development",
        "name": "typed_example.greet",
        "version": "v7",
    }


def test_package_is_byte_identical_from_run_to_run(tmp_path: Path) -> None:
    for d in ("a", "b"):
        run(
            str(BIN / "podtask"),
            "export",
            "flyte",
            TYPED,
            "--image",
            "i:1",
            "-o",
            str(tmp_path / d),
        )
    first = (tmp_path / "a" / "flyte-package.tgz").read_bytes()
    assert first == (tmp_path / "b" / "flyte-package.tgz").read_bytes()


def test_legacy_sidecar_writes_the_sidecar_plugins_form(tmp_path: Path) -> None:
    run(str(BIN / "podtask"), "export", "flyte", SEED, "--image", "i:1", "-o", str(tmp_path),
        "--legacy-sidecar")  # fmt: skip
    (spec,) = task_specs(tmp_path / "flyte-package.tgz").values()
    template = spec["template"]
    assert template["type"] == "sidecar"
    assert "taskTypeVersion" not in template  # version 0: custom holds the SidecarJob
    assert "k8sPod" not in template and "container" not in template
    custom = template["custom"]
    assert custom["primaryContainerName"] == "primary"
    pod_spec = custom["podSpec"]
    # Kubernetes JSON (the plugin decodes it into Kubernetes' Go types), not k8s-proto's form.
    assert pod_spec["volumes"] == [{"name": "shared-data", "emptyDir": {"medium": "Memory"}}]
    primary, secondary = pod_spec["containers"]
    assert primary["image"] == "i:1" and primary["args"][0] == "flyte"
    assert secondary == {
        "name": "secondary",
        "image": "alpine",
        "command": ["/bin/sh"],
        "args": ["-c", "echo hi sidecar world > /data/message.txt"],
        "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}],
    }


@pytest.mark.parametrize(
    "args,expected",
    [
        ([TYPED, "-o", "OUT"], "--image"),
        ([TYPED, "--image", "i:1", "--task", "nope", "-o", "OUT"], "no task named 'nope'"),
        (["missing.py", "--image", "i:1", "-o", "OUT"], "no such file"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    out = tmp_path / "out"
    proc = export(*[str(out) if a == "OUT" else a for a in args])
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert not out.exists()
