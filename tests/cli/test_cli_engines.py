"""Issue 11 items 5 and 6: warnings that concern the engine in use, and early portability checks."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import json_error, run_script, write_task_file
from tests.conftest import run_cli

IMAGE_IN_SPEC = """
import podtask

spec = {"containers": [{"name": "primary", "image": "python:3.11"}]}

@podtask.task(pod=podtask.Pod(spec=spec, primary_container="primary"))
def imaged() -> None:
    pass
"""

SIDECAR_WITHOUT_IMAGE = """
import podtask

spec = {"containers": [
    {"name": "primary", "image": "python:3.11"},
    {"name": "helper", "command": ["sleep", "60"]},
]}

@podtask.task(pod=podtask.Pod(spec=spec, primary_container="primary"))
def imageless() -> None:
    pass
"""

OVERWRITTEN = "image 'python:3.11' is overwritten by the task image"
FIELD = "pod_spec.containers[1].image"


def test_image_warnings_only_for_engines_with_images(tmp_path: Path) -> None:
    task = write_task_file(tmp_path, "imaged.py", IMAGE_IN_SPEC)
    anywhere = run_cli("compile", str(task))
    assert anywhere.returncode == 0 and OVERWRITTEN in anywhere.stderr
    cluster = run_cli("compile", str(task), "--engine", "kubernetes")
    assert cluster.returncode == 0 and OVERWRITTEN in cluster.stderr
    local = run_cli("compile", str(task), "--engine", "local")
    assert local.returncode == 0, local.stderr
    assert "image" not in local.stderr


def test_local_run_and_describe_say_nothing_of_images(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(tmp_path, "imaged.py", IMAGE_IN_SPEC)
    run = run_cli("run", str(task))
    assert run.returncode == 0, run.stderr
    assert "overwritten" not in run.stderr
    described = run_cli("describe", run.stderr.split("run ", 1)[1].split()[0])
    assert described.returncode == 0, described.stderr
    manifest = described.stdout.split("Pod (effective manifest", 1)[1]
    assert manifest.startswith("; the local engine uses no image; env values hidden")
    assert "image:" not in manifest
    assert "command:" in manifest  # the rest of the manifest is still there


def test_sidecar_without_image_warns_on_local_and_is_refused_early_elsewhere(
    tmp_path: Path, podtask_home: Path
) -> None:
    task = write_task_file(tmp_path, "imageless.py", SIDECAR_WITHOUT_IMAGE)
    local = run_cli("compile", str(task), "--engine", "local")
    assert local.returncode == 0
    assert f"{FIELD}: container 'helper' has no image" in local.stderr
    assert "kubernetes and podman engines will refuse it" in local.stderr
    for args in (["--engine", "kubernetes"], ["--engine", "podman"], ["--strict"]):
        refused = run_script("compile", str(task), *args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert f"error: {FIELD}: container 'helper' has no image" in refused.stderr
    for engine in ("kubernetes", "podman"):
        run = run_script("run", str(task), "--engine", engine, "--json")
        assert run.returncode == 2, run.stderr
        assert json_error(run.stdout)["field"] == FIELD
    assert not (podtask_home / "runs").exists() or not any((podtask_home / "runs").iterdir())


def test_sidecar_without_image_still_runs_locally_with_a_warning(
    tmp_path: Path, needs_root: None
) -> None:
    task = write_task_file(tmp_path, "imageless.py", SIDECAR_WITHOUT_IMAGE)
    run = run_cli("run", str(task))
    assert run.returncode == 0, run.stderr
    assert f"warning: {FIELD}: container 'helper' has no image" in run.stderr
